"""Corpus loaders (both formats, on the real records) and the local BM25 search."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from sovereign_agents import Context, build_graph
from sovereign_agents.corpus import load_corpus, parse_record, split_arxiv_id
from sovereign_agents.errors import CorpusError
from sovereign_agents.search.local import BM25Index, LocalCorpusSearch, open_index
from sovereign_agents.text import analyze, keyphrases, split_sentences


def test_daily_listing_format(daily_corpus: Path) -> None:
    papers, report = load_corpus(daily_corpus)
    assert report.records == len(papers) == 7433 and report.skipped == 0
    assert report.formats == {"daily": 7433}
    first = papers[0]
    assert first.id == "2504.21040" and first.authors and "cs.CV" in first.categories
    assert "\n" not in first.abstract and first.url.endswith("2504.21040")


def test_kaggle_snapshot_format(kaggle_corpus: Path) -> None:
    papers, report = load_corpus(kaggle_corpus)
    assert report.formats == {"kaggle": 200}
    first = papers[0]
    assert first.id == "0704.0001" and first.version == 2
    assert first.categories == ["hep-ph"] and "Nadolsky" in " ".join(first.authors)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2506.01234v2", ("2506.01234", 2)),
        ("2506.01234", ("2506.01234", None)),
        ("astro-ph/0601001v1", ("astro-ph/0601001", 1)),
        ("http://arxiv.org/abs/2401.15947v3", ("2401.15947", 3)),
    ],
)
def test_arxiv_ids_are_normalised(raw: str, expected: tuple[str, int | None]) -> None:
    assert split_arxiv_id(raw) == expected


def test_broken_and_missing_corpora_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="not found"):
        load_corpus(tmp_path / "missing.jsonl")
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n[1, 2]\n")
    with pytest.raises(CorpusError, match=r"no arXiv records.*line 1"):
        load_corpus(broken)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(CorpusError, match="empty"):
        load_corpus(empty)


def test_a_folder_as_corpus_fails_clearly_in_a_python_api_run(tmp_path: Path) -> None:
    """Through the graph (the index opens the corpus before the loader), not only the CLI."""
    with pytest.raises(CorpusError, match="not a file"):
        build_graph().invoke({"goal": "What is attention?"}, context=Context(corpus=tmp_path))


def test_bad_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    good = {
        "id": "2501.00001v1",
        "title": "T",
        "summary": "An abstract.",
        "authors": ["A"],
        "categories": ["cs.CL"],
        "abs": "https://arxiv.org/abs/2501.00001",
    }
    file = tmp_path / "mixed.jsonl"
    file.write_text(
        "\n".join([json.dumps(good), "garbage", json.dumps({"id": "x"}), json.dumps(good)]) + "\n"
    )
    papers, report = load_corpus(file)
    assert len(papers) == 1 and report.skipped == 2 and papers[0].version == 1


def test_parse_record_rejects_records_without_text() -> None:
    with pytest.raises(ValueError, match="abstract"):
        parse_record({"id": "1", "title": "t", "abstract": "  "})


def test_bm25_ranks_topical_papers_first(daily_corpus: Path) -> None:
    search = LocalCorpusSearch(daily_corpus)
    hits = search.search("mixture of experts routing", 5)
    assert len(hits) == 5
    assert all(a[1] >= b[1] for a, b in itertools.pairwise(hits))
    assert sum("expert" in p.text.lower() for p, _ in hits) >= 4
    assert search.search("zzzqqq nonexistentterm", 5) == []
    assert search.get("2504.21040v3") is not None and search.get("9999.99999") is None


def test_index_is_cached_on_disk_by_corpus_hash(daily_corpus: Path, isolated_cache: Path) -> None:
    index, _ = open_index(daily_corpus)
    cached = list(isolated_cache.glob(f"bm25-*-{index.sha256[:24]}.idx"))
    assert len(cached) == 1


def test_an_index_built_by_another_analyzer_is_not_reused(
    daily_corpus: Path, isolated_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sovereign_agents.search import local
    from sovereign_agents.text import ANALYZER_VERSION

    index, _ = open_index(daily_corpus)
    (built,) = isolated_cache.glob(f"bm25-*-{index.sha256[:24]}.idx")
    assert f"-a{ANALYZER_VERSION}-" in built.name
    # the same corpus under an older analyzer version: a cache miss, built again
    local.clear_memo()
    monkeypatch.setattr(local, "ANALYZER_VERSION", ANALYZER_VERSION - 1)
    _, warm = open_index(daily_corpus)
    assert not warm
    assert len(list(isolated_cache.glob(f"bm25-*-{index.sha256[:24]}.idx"))) == 2


def test_bm25_matches_the_textbook_formula() -> None:
    from sovereign_agents.corpus import LoadReport
    from sovereign_agents.schemas import Paper

    papers = [
        Paper(id=str(i), title="x", abstract=a)
        for i, a in enumerate(["apple banana", "apple apple cherry", "banana durian elderberry"])
    ]
    index = BM25Index.build(papers, sha256="0", source="mem", report=LoadReport("m", "0"))
    # documents are "x. x. <abstract>": term 'apple', df=2, N=3
    import math

    idf = math.log1p((3 - 2 + 0.5) / (2 + 0.5))
    lengths = [len(analyze(f"x. x. {p.abstract}")) for p in papers]
    avg = sum(lengths) / 3
    tf = 2
    expected = idf * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * lengths[1] / avg))
    assert index.scores("apple")[1] == pytest.approx(expected, rel=1e-5)


def test_text_helpers() -> None:
    # Snowball (Porter 2) stems: inflections and derivations fold onto one term
    assert analyze("Mixture-of-Experts models") == ["mixtur", "expert", "model"]
    assert analyze("bodies generalization generalizations") == ["bodi", "general", "general"]
    assert analyze("VLMs LLMs class") == ["vlm", "llm", "class"]  # acronym plurals fold
    assert analyze("inhibits inhibited inhibition") == ["inhibit"] * 3
    parts = split_sentences("We show X, e.g. Y. Results improve 5%. Fig. 2 shows it.")
    assert [s.text for s in parts] == [
        "We show X, e.g. Y.",
        "Results improve 5%.",
        "Fig. 2 shows it.",
    ]
    text = "A b. Second one here."
    for s in split_sentences(text):
        assert text[s.start : s.end] == s.text
    assert (
        keyphrases("How do sparse mixture-of-experts models compare to dense models?")[0]
        == "sparse mixture-of-experts models"
    )
