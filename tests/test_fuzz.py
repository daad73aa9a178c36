"""Property tests: loaders, prompt loader and report renderer never crash on odd input."""

from __future__ import annotations

import contextlib
import json
import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sovereign_agents.corpus import LoadReport, iter_records, parse_record
from sovereign_agents.errors import PromptError
from sovereign_agents.escaping import md_cell
from sovereign_agents.prompts import parse_prompt
from sovereign_agents.text import analyze, clean_text, split_sentences

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
record_like = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values | st.text(alphabet=string.digits + ".v", min_size=1),
        "title": json_values,
        "abstract": json_values,
        "summary": json_values,
        "authors": json_values,
        "categories": json_values,
        "versions": json_values,
    },
)


@given(st.lists(record_like | json_values, max_size=8))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_corpus_loader_never_crashes(records: list[object]) -> None:
    lines = [json.dumps(r) for r in records] + ["{not json", ""]
    report = LoadReport(path="x", sha256="0")
    papers = list(iter_records(lines, report))
    assert report.records == len(papers)
    assert report.records + report.skipped <= len(lines)
    for paper in papers:
        assert paper.id and paper.title and paper.abstract


@given(record_like)
def test_parse_record_raises_only_value_errors(record: dict[str, object]) -> None:
    try:
        paper, fmt = parse_record(record)
    except (ValueError, TypeError):
        return
    assert fmt in {"kaggle", "daily"} and paper.abstract


@given(st.text(max_size=400))
def test_prompt_loader_accepts_or_raises_prompt_error(text: str) -> None:
    with contextlib.suppress(PromptError):
        parse_prompt(text)


@given(st.text(max_size=300))
def test_prompt_bodies_with_any_braces_are_caught(body: str) -> None:
    text = (
        "---\nid: x\nrole: x\nversion: v1\ninputs: [goal]\noutput: PlanOutput\n"
        f"changelog: [c]\n---\n{{goal}} {body}\n"
    )
    try:
        prompt = parse_prompt(text)
    except PromptError:
        return
    prompt.render(goal="g")  # a prompt that loads always renders


@given(st.text(max_size=2000))
def test_table_cells_are_one_line_with_pipes_escaped(text: str) -> None:
    cell = md_cell(text)
    assert "\n" not in cell and "\r" not in cell
    assert "|" not in cell.replace("\\|", "")


@given(st.text(max_size=3000), st.integers(min_value=5, max_value=500))
def test_clean_text_bounds_length_and_strips_controls(text: str, limit: int) -> None:
    cleaned = clean_text(text, limit)
    assert len(cleaned) <= limit + 1
    assert not any(ord(ch) < 32 for ch in cleaned)


@given(st.text(max_size=1500))
def test_sentence_offsets_always_point_into_the_text(text: str) -> None:
    for sentence in split_sentences(text):
        assert " ".join(text[sentence.start : sentence.end].split()) == sentence.text
    analyze(text)


_BASE_REPORT: dict[str, object] = {}


def base_report() -> dict[str, object]:
    """One real report (an offline run on a tiny corpus), rendered again with fuzzed claims."""
    if not _BASE_REPORT:
        import tempfile
        from pathlib import Path

        from sovereign_agents import Context
        from sovereign_agents.runner import run_research
        from sovereign_agents.testing import DAILY_CS, shared_data

        corpus = shared_data() / DAILY_CS
        if not corpus.is_file():
            pytest.skip(f"shared test data not found at {corpus} (set SOVEREIGN_SHARED_DATA)")
        with tempfile.TemporaryDirectory() as tmp:
            small = Path(tmp) / "small.jsonl"
            small.write_text("\n".join(corpus.read_text().splitlines()[:400]) + "\n")
            result = run_research(
                "How do language models reason?", Context(corpus=str(small)), Path(tmp) / "run"
            )
            _BASE_REPORT.update(json.loads(result.report_json.read_text()))  # type: ignore[union-attr]
    return _BASE_REPORT


claim_text = st.text(
    alphabet=st.characters(codec="utf-8"), min_size=1, max_size=3000
) | st.sampled_from(
    ["a | b", "line\nbreak", "\\|", "| --- |", "x" * 5000, "`code` **bold** <b>", "\r\n|\n"]
)


@given(st.lists(claim_text, min_size=1, max_size=5), st.text(max_size=200))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_report_renderer_keeps_the_claims_table_intact(texts: list[str], paper_id: str) -> None:
    from sovereign_agents.report import render_markdown

    report = json.loads(json.dumps(base_report()))
    template = {
        "id": "Cdeadbeef",
        "text": "",
        "paper_id": paper_id or "p",
        "evidence": "e",
        "evidence_start": 0,
        "evidence_end": 1,
        "verified": True,
        "confidence": 0.5,
        "round": 0,
        "engine": "extractive",
        "dropped_in_round": None,
        "drop_reason": None,
    }
    report["claims"] = [{**template, "id": f"C{i:08d}", "text": t} for i, t in enumerate(texts)]
    md = render_markdown(report)
    table = md.split("## 5 Extracted Claims")[1].split("## References")[0].strip().splitlines()
    rows = table[2:]
    assert len(rows) == len(texts)  # one line per claim: no newline leaked into a cell
    for row in rows:
        cells = re.split(r"(?<!\\)\|", row)[1:-1]
        assert len(cells) == 7, row
    for text in texts:  # claims are never cut
        assert md_cell(text) in md
