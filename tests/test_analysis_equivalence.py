"""The fast analysis path of the index build gives exactly what the plain one gave.

The analyzer memoises each token's terms (``text.TermsMemo``), tokenises ASCII text with an
ASCII regex, tokenises a title once for its two occurrences (``indexed_tokens``), and counts
terms in arrays; ``content_key`` splits ASCII text into words in C; the index parses records
without making their links. Each is checked here against the code it replaced, kept below
verbatim, on every real record we have and on hostile text (other scripts, accents,
combining marks, a final sigma, C++ and GPT-4.5, lone punctuation)."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from sovereign_agents import text
from sovereign_agents.corpus import content_key, parse_line, parse_record, read_lines
from sovereign_agents.schemas import Paper
from sovereign_agents.search import index_build
from sovereign_agents.search.index_build import analyse, indexed_terms
from sovereign_agents.text import STOP_WORDS, analyze, stem

# ---- the code replaced, verbatim -------------------------------------------------------

_OLD_TOKEN_RE = re.compile(r"[^\W_][\w\-\+\.]*[^\W_\+]|[^\W_][\w\-\+\.]*\+|[^\W_]")
_OLD_NOT_WORD = re.compile(r"\W+")


def _old_fold(value: str) -> str:
    if value.isascii():
        return value.lower()
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def old_analyze(value: str) -> list[str]:
    out: list[str] = []
    for token in _OLD_TOKEN_RE.findall(_old_fold(value)):
        for part in token.split("-") if "-" in token else (token,):
            part = part.strip(".")
            if len(part) < 2 or part in STOP_WORDS or part.replace(".", "").isdigit():
                continue
            out.append(stem(part))
    return out


def old_indexed_terms(paper: Paper) -> list[str]:
    return old_analyze(f"{paper.title}. {paper.title}. {paper.abstract}")


def old_content_key(paper: Paper) -> int:
    value = _OLD_NOT_WORD.sub(" ", f"{paper.title}\n{paper.abstract}".lower()).strip()
    return int.from_bytes(hashlib.blake2b(value.encode("utf-8"), digest_size=8).digest(), "big")


# ---- hostile text -----------------------------------------------------------------------

HOSTILE = [
    "C++ and C# in GPT-4.5 vs. GPT-4o; LLMs, VLMs and a+b+ c.+x _foo -bar .5 x_ a_",
    "Difusión de modèles — ﬁne-tuning Ｆｕｌｌｗｉｄｔｈ ΣΟΦΟΣ ὈΔΥΣΣΕΎΣ σοφός",
    "e\u0301le\u0300ve \u0301leading combining; Straße İstanbul ǅemal",
    "数据 模型 と 言語モデル; مدل زبان; языковая модель-трансформер",
    "Title ending in a sigma ΛΟΓΟΣ",
    "...---+++___ . - + _ 3.5 2025 v2 x86-64 e.g. i.e. state-of-the-art",
    "tabs\tand\nnewlines\r\nand\u00a0nbsp and\u2009thin and \u200bzero-width",
    "",
]


def hostile_papers() -> list[Paper]:
    return [
        Paper(id=f"h{i}", title=title or "t", abstract=abstract or "a")
        for i, (title, abstract) in enumerate(
            (a, b) for a in HOSTILE for b in HOSTILE if a != b or not a
        )
    ]


def real_papers(data_dir: Path) -> list[Paper]:
    papers: list[Paper] = []
    for name in (
        "arxiv_metadata/daily_listing_cs/arxiv_cs_daily_2025-05-01_2025-06-09.jsonl",
        "arxiv_metadata/kaggle_oai_snapshot_sample/arxiv-metadata-oai-snapshot.json",
    ):
        with (data_dir / name).open("rb") as handle:
            for *_, line in read_lines(handle):
                parsed = parse_line(line)
                if not isinstance(parsed, str):
                    papers.append(parsed[0])
    for line in (data_dir / "scifact/corpus.jsonl").read_text().splitlines():
        doc = json.loads(line)
        papers.append(
            Paper(id=str(doc["doc_id"]), title=doc["title"], abstract=" ".join(doc["abstract"]))
        )
    return papers


@pytest.fixture(scope="module")
def papers(data_dir: Path) -> list[Paper]:
    found = real_papers(data_dir)
    assert len(found) > 12_000  # 7,433 daily + 200 Kaggle + 5,183 SciFact
    return found + hostile_papers()


# ---- the checks ---------------------------------------------------------------------------


@pytest.mark.slow
def test_indexed_terms_and_analyze_are_those_of_the_old_analyzer(
    papers: list[Paper], data_dir: Path
) -> None:
    for paper in papers:
        assert indexed_terms(paper) == old_indexed_terms(paper), paper.id
    for paper in papers[::20]:
        assert analyze(paper.abstract) == old_analyze(paper.abstract), paper.id
    for line in (data_dir / "scifact/claims_train.jsonl").read_text().splitlines():
        claim = json.loads(line)["claim"]  # queries, as eval retrieval asks them
        assert analyze(claim) == old_analyze(claim), claim
    for value in HOSTILE:
        assert analyze(value) == old_analyze(value), value


def test_the_terms_memo_stays_bounded_and_right(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text, "TERMS_MEMO_SIZE", 5)
    memo = text.TermsMemo()
    words = ["models", "of", "vision-language", "gpt-4.5", "the", "2025", "c++", "experts"]
    for _ in range(3):
        assert [memo[w] for w in words] == [text.token_terms(w) for w in words]
        assert len(memo) <= 5


def test_content_key_is_the_old_key(papers: list[Paper]) -> None:
    for paper in papers:
        assert content_key(paper) == old_content_key(paper), paper.id


def test_records_parsed_for_the_index_are_the_records(data_dir: Path) -> None:
    """``text_only`` leaves the link out and nothing else, and reads the same lines."""
    path = data_dir / "arxiv_metadata/daily_listing_cs/arxiv_cs_daily_2025-05-01_2025-06-09.jsonl"
    lines = path.read_text().splitlines()[:300]
    hostile = [
        "garbage",
        json.dumps({"id": "x"}),
        json.dumps({"id": "1", "title": "t", "summary": "a", "abs": [[[["deep"]]]]}),
        json.dumps({"id": "1", "title": "t", "summary": "a", "abs": "javascript:alert(1)"}),
        json.dumps({"id": "1", "title": "t", "summary": "a", "update_date": 5}),
        json.dumps({"id": "\u200b", "title": "t", "abstract": "a"}),
        "[" * 100_000,
    ]
    for line in lines + hostile:
        full, lean = parse_line(line), parse_line(line, text_only=True)
        if isinstance(full, str):
            assert lean == full
            continue
        assert not isinstance(lean, str)
        assert lean[0] == full[0].model_copy(update={"url": ""}) and lean[1] == full[1]
    with pytest.raises(ValueError):
        parse_record({"id": "1", "title": "t", "summary": " "}, text_only=True)


def test_a_worker_counts_each_record_as_the_old_analyzer_did(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``analyse``: per record, the old analyzer's term counts and length, whether its memo
    is kept across batches or emptied between them."""
    path = data_dir / "arxiv_metadata/daily_listing_cs/arxiv_cs_daily_2025-05-01_2025-06-09.jsonl"
    with path.open("rb") as handle:
        lines = list(read_lines(handle))[:1200]
    lines[5] = (lines[5][0], lines[5][1], lines[5][2], "not json")
    for size in (1 << 18, 50):
        monkeypatch.setattr(index_build, "MEMO_SIZE", size)
        for start in range(0, len(lines), 400):
            batch = analyse(lines[start : start + 400])
            ends = np.cumsum(batch.nnz)
            parsed = [parse_line(line) for *_, line in lines[start : start + 400]]
            expected = [p[0] for p in parsed if not isinstance(p, str)]
            assert len(batch.docs) == len(expected)
            assert len(batch.bad) == len(parsed) - len(expected)
            for i, paper in enumerate(expected):
                span = slice(int(ends[i] - batch.nnz[i]), int(ends[i]))
                counted = {
                    batch.terms[t]: int(c)
                    for t, c in zip(batch.local[span], batch.counts[span], strict=True)
                }
                assert counted == Counter(old_indexed_terms(paper)), paper.id
                assert batch.lengths[i] == len(old_indexed_terms(paper))
                assert batch.docs[i][2:5] == (paper.id, paper.version, old_content_key(paper))
