"""The typed report: claims built from Claim, report.md rendered from the typed model."""

from __future__ import annotations

import json
from pathlib import Path

from sovereign_agents import Context
from sovereign_agents.report import Report, ReportClaim, render_markdown
from sovereign_agents.runner import run_research
from sovereign_agents.schemas import Claim, Verification

VERDICT = Verification(
    verifier="hybrid",
    confidence=0.612345678,
    threshold=0.5,
    verified=True,
    evidence="The model is 2x faster.",
    stance="SUPPORT",
    stance_quote="2x faster",
    stance_by="stance_v1",
    source_sha256="ab" * 32,
    paper_version=3,
)
CLAIM = Claim(
    id="C12345678",
    text="The model runs twice as fast.",
    paper_id="2501.00001",
    evidence="The model is 2x faster.",
    evidence_start=10,
    evidence_end=33,
    round=1,
    engine="extractive",
    verification=VERDICT,
    dropped_in_round=1,
    drop_reason="raised by the tribunal",
    human_verdict="supported",
)
# where a report field comes from when it is not a Claim field of the same name
FROM_VERIFICATION = {
    "verifier_evidence": "evidence",
    "stance": "stance",
    "stance_quote": "stance_quote",
    "stance_by": "stance_by",
    "source_sha256": "source_sha256",
    "paper_version": "paper_version",
}


def test_a_report_claim_is_built_from_the_claim() -> None:
    shown = ReportClaim.model_validate(CLAIM)
    for name in ReportClaim.model_fields:
        value = getattr(shown, name)
        if name == "confidence":
            assert value == round(CLAIM.confidence, 4) == 0.6123
        elif name in FROM_VERIFICATION:
            assert value == getattr(VERDICT, FROM_VERIFICATION[name]) is not None, name
        else:  # a field of the claim (or one of its properties): no field left at a default
            assert value == getattr(CLAIM, name), name
    bare = ReportClaim.model_validate(CLAIM.model_copy(update={"verification": None}))
    assert bare.verified is False and bare.confidence == 0.0
    assert all(getattr(bare, name) is None for name in FROM_VERIFICATION)


def test_a_saved_report_json_reads_back_and_renders_the_same_report_md(
    daily_corpus: Path, tmp_path: Path
) -> None:
    result = run_research(
        "How does speculative decoding speed up LLM inference?",
        Context(corpus=str(daily_corpus)),
        tmp_path / "run",
    )
    assert result.report_json and result.report_md
    saved = json.loads(result.report_json.read_text())
    report = Report.model_validate(saved)
    # the typed model is the whole report; the run folder adds the checkpoint thread
    assert report.model_dump(mode="json") == {k: v for k, v in saved.items() if k != "thread_id"}
    assert render_markdown(report) == result.report_md.read_text()
    assert render_markdown(saved) == result.report_md.read_text()
    assert [c.id for c in report.claims] == [c["id"] for c in saved["claims"]]
