"""eval research: the scoring by hand, the stance read from a report, the CLI on real claims."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sovereign_agents.cli import app
from sovereign_agents.errors import InputError
from sovereign_agents.evals.research import goal_of, load_gold, report_evidence, stance_label
from sovereign_agents.evals.research_metrics import (
    Counts,
    GoldClaim,
    locate,
    research_metrics,
    score_claim,
)
from sovereign_agents.schemas import Verification

SENTENCES = ["Alpha rises.", "  Beta falls sharply.", "", "Gamma is unchanged."]


def test_goal_phrasing() -> None:
    assert goal_of("The drug lowers blood pressure.") == (
        "Is it true that the drug lowers blood pressure?"
    )
    assert goal_of("ALDH1 expression predicts prognosis.") == (
        "Is it true that ALDH1 expression predicts prognosis?"
    )
    assert goal_of("  0-dimensional biomaterials lack inductive properties . ") == (
        "Is it true that 0-dimensional biomaterials lack inductive properties?"
    )


def test_locate_by_offsets_text_and_words() -> None:
    # the corpus loader's abstract: "Alpha rises. Beta falls sharply. Gamma is unchanged."
    abstract = "Alpha rises. Beta falls sharply. Gamma is unchanged."
    start = abstract.index("Beta")
    assert locate("Beta falls sharply.", start, start + 19, SENTENCES) == {1}
    assert locate("Beta falls sharply.", None, None, SENTENCES) == {1}  # found by text
    assert locate("Beta falls sharply.", 0, 5, SENTENCES) == {1}  # wrong offsets: by text
    assert locate("Alpha rises. Beta falls sharply.", None, None, SENTENCES) == {0, 1}
    assert locate("gamma is unchanged here", None, None, SENTENCES) == {3}  # by words
    assert locate("gamma unchanged in this cohort", None, None, SENTENCES) == set()  # 2 of 5
    assert locate("Nothing like it", None, None, SENTENCES) == set()
    assert locate("", 0, 0, SENTENCES) == set()


def test_score_claim_and_micro_average() -> None:
    gold = GoldClaim(
        id=1,
        claim="x",
        cited=["10", "20"],
        rationales={"10": [0, 2]},
        labels={"10": "SUPPORT"},
    )
    counts = score_claim(
        gold,
        papers=["10", "30"],
        evidence={("10", 0), ("10", 1), ("30", 4)},
        stances={"10": "SUPPORT", "30": "CONTRADICT", "40": "NOT_ENOUGH_INFO"},
    )
    assert counts == Counts(
        cited=2,
        cited_found=1,
        evidence_tp=1,
        evidence_fp=2,
        evidence_fn=1,
        label_tp=1,
        label_fp=1,
        label_fn=0,
    )
    # the right abstract with the wrong label is both a false positive and a miss
    wrong = score_claim(gold, ["10"], set(), {"10": "CONTRADICT"})
    assert (wrong.label_tp, wrong.label_fp, wrong.label_fn) == (0, 1, 1)
    nothing = score_claim(gold, [], set(), {})
    m = research_metrics([counts, wrong, nothing])
    assert m.goals == 3
    assert m.retrieval_recall == pytest.approx(2 / 6, abs=1e-4)
    assert (m.evidence.tp, m.evidence.fp, m.evidence.fn) == (1, 2, 5)
    assert (m.label_only.tp, m.label_only.fp, m.label_only.fn) == (1, 2, 2)
    assert m.label_only.precision == pytest.approx(1 / 3, abs=1e-4)
    summary = m.summary(1.234)
    assert set(summary) == {"goals", "retrieval", "evidence", "label_only", "wall_s"}
    assert summary["wall_s"] == 1.23


def test_stance_label_from_a_verdict() -> None:
    def v(**kw: object) -> Verification:
        return Verification(verifier="hybrid", confidence=0.5, threshold=0.4, **kw)  # type: ignore[arg-type]

    assert stance_label(v(verified=True, stance="CONTRADICT", evidence_found=True)) == "CONTRADICT"
    assert stance_label(v(verified=False, stance="NOT_ENOUGH_INFO")) is None
    assert stance_label(v(verified=True, evidence_found=True)) == "SUPPORT"
    assert stance_label(v(verified=False, evidence_found=True)) == "CONTRADICT"
    assert stance_label(v(verified=True, evidence_found=False)) is None


def test_report_evidence_keeps_active_claims_of_known_docs() -> None:
    docs = {"10": ("T", SENTENCES)}
    report = {
        "claims": [
            {"paper_id": "10", "evidence": "Alpha rises.", "dropped_in_round": None},
            {"paper_id": "10", "evidence": "Gamma is unchanged.", "dropped_in_round": 1},
            {"paper_id": "99", "evidence": "Alpha rises.", "dropped_in_round": None},
        ]
    }
    assert report_evidence(report, docs) == {"10": {0}}


def test_gold_loading_refuses_files_without_gold(data_dir: Path, tmp_path: Path) -> None:
    scifact = data_dir / "scifact"
    gold = load_gold(scifact / "claims_train.jsonl")
    assert len(gold) == 809 and all(g.cited for g in gold)
    assert all(set(g.labels) <= set(g.rationales) for g in gold)
    with pytest.raises(InputError, match="no claim cites"):
        load_gold(scifact / "claims_test.jsonl")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"claim": "no id"}\n')
    with pytest.raises(InputError, match="not a SciFact claim"):
        load_gold(broken)


@pytest.mark.e2e
@pytest.mark.slow
def test_eval_research_cli_on_real_claims(data_dir: Path, tmp_path: Path) -> None:
    scifact = data_dir / "scifact"
    out = tmp_path / "research"
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "research",
            "--claims",
            str(scifact / "claims_train.jsonl"),
            "--corpus",
            str(scifact / "corpus.jsonl"),
            "--limit",
            "2",
            "--workers",
            "2",
            "--json",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert set(summary) == {"goals", "retrieval", "evidence", "label_only", "wall_s"}
    assert summary["goals"] == 2
    rows = [json.loads(line) for line in (out / "research_claims.jsonl").read_text().splitlines()]
    assert [r["claim_id"] for r in rows] == [0, 2]  # file order
    assert not any(r["error"] for r in rows)
    for row in rows:
        assert (Path(row["run_dir"]) / "report.json").is_file()
        report = json.loads((Path(row["run_dir"]) / "report.json").read_text())
        assert report["goal"].startswith("Is it true that ")
        assert row["papers"] == [p["id"] for p in report["papers"]]
    # claim 2 cites one abstract (13734012), which holds its CONTRADICT rationale (sentence 4)
    assert rows[1]["gold_labels"] == {"13734012": "CONTRADICT"}
    found = sum(r["counts"]["cited_found"] for r in rows)
    cited = sum(r["counts"]["cited"] for r in rows)
    assert summary["retrieval"]["recall"] == pytest.approx(found / cited, abs=1e-4)
    table = (out / "research.md").read_text()
    assert "| claim | papers |" in table and "label-only" in table


def test_eval_research_bad_input_is_one_line(data_dir: Path, tmp_path: Path) -> None:
    scifact = data_dir / "scifact"
    runner = CliRunner()
    for args, message in (
        (["--claims", str(tmp_path / "missing.jsonl")], "cannot read"),
        (["--claims", str(scifact / "claims_test.jsonl")], "no claim cites"),
        (["--claims", str(scifact / "claims_train.jsonl"), "--limit", "0"], "--limit"),
        (["--claims", str(scifact / "claims_train.jsonl"), "--llm", "nope:x"], "nope"),
    ):
        result = runner.invoke(
            app, ["eval", "research", *args, "--corpus", str(scifact / "corpus.jsonl")]
        )
        assert result.exit_code != 0
        assert message in result.output
        assert "Traceback" not in result.output
