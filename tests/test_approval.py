"""Honest approval: a report that does not answer its goal is never auto-approved offline.

Each goal below was read claim by claim against the 7,433 real arXiv records; the labels are
those of ``evals/data/approval_arxiv_goals.jsonl``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sovereign_agents import Context
from sovereign_agents.evals.approval import (
    ARXIV_GOALS,
    AS_CONSTRUCTED,
    Adjudication,
    ApprovalReport,
    GoalOutcome,
    LabelledGoal,
    adjudications,
    markdown_table,
    metrics,
    run_goal,
    scifact_goals,
    set_metrics,
)
from sovereign_agents.relevance import NUMBER
from sovereign_agents.runner import fork_run, run_history, run_research

pytestmark = pytest.mark.e2e

QUICK_START = (
    "Does the inference efficiency gain of sparse MoE vision-language models over dense VLMs "
    "on MMMU generalize to MathVista or ChartQA under equal FLOPs?"
)
SPEC_DEC = (
    "How does speculative decoding speed up LLM inference, and what acceptance rates are reported?"
)


def report(out: Path) -> tuple[dict[str, Any], str]:
    return json.loads((out / "report.json").read_text()), (out / "report.md").read_text()


def section(md: str, start: str, end: str) -> str:
    return md.split(start)[1].split(end)[0]


@pytest.fixture(scope="module")
def quick_start(daily_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("quick")
    run_research(QUICK_START, Context(corpus=str(daily_corpus)), out)
    return out


def test_the_quick_start_goal_is_not_approved_and_says_why(quick_start: Path) -> None:
    data, md = report(quick_start)
    assert data["policy"] != "AUTO_APPROVE"
    # every query of every round keeps the goal's core concept
    assert all("moe" in q["query"].lower() for q in data["queries"]), data["queries"]
    signals = data["signals"]
    assert signals["core_concepts"] == ["sparse MoE vision-language models"]
    assert {"MathVista", "ChartQA"} <= set(signals["missing_terms"])
    uncertainties = section(md, "## 4 Uncertainties", "## 5")
    assert "ChartQA" in uncertainties and "inference efficiency gain" in uncertainties
    abstract = section(md, "## Abstract", "## 1 Introduction")
    assert "does not answer" in abstract


def test_raising_the_bar_cannot_be_met_with_off_topic_claims(
    quick_start: Path, daily_corpus: Path, tmp_path: Path
) -> None:
    """The issue's fork: approve_threshold=9 made the revision add off-topic papers until the
    score passed. Now only claims that bear on the goal raise it."""
    before_draft = next(e for e in run_history(quick_start) if e.next == ("draft",))
    strict = Context(corpus=str(daily_corpus), approve_threshold=9.0)
    fork = fork_run(quick_start, before_draft.checkpoint_id, tmp_path / "fork", context=strict)
    data, _ = report(tmp_path / "fork")
    assert fork.values["policy"] != "AUTO_APPROVE"
    assert data["tribunal"]["score"] < 9.0


def test_an_answerable_goal_is_approved_and_its_abstract_answers(
    daily_corpus: Path, tmp_path: Path
) -> None:
    run_research(SPEC_DEC, Context(corpus=str(daily_corpus)), tmp_path)
    data, md = report(tmp_path)
    assert data["policy"] == "AUTO_APPROVE", data["policy_reason"]
    signals = data["signals"]
    assert signals["answering_ids"] and signals["core_covered"]
    # the abstract leads with a claim that gives the asked quantity (one with a number when
    # any answering claim has one), never with background
    abstract = section(md, "## Abstract", "## 1 Introduction")
    first = abstract.strip().split("[C")[0]
    first_id = re.search(r"\[(C[0-9a-f]{8})\]", abstract)
    assert first_id and first_id.group(1) in signals["answering_ids"], abstract
    assert "acceptance" in first.lower(), first
    assert not re.match(r"\s*(Motivated|Recently|However|To address)", first)
    answering = {c["id"]: c for c in data["claims"] if c["id"] in signals["answering_ids"]}
    assert all(c["verified"] for c in answering.values())
    if any(NUMBER.search(c["text"]) for c in answering.values()):
        assert NUMBER.search(first), first


@pytest.mark.parametrize(
    ("goal", "words"),
    [
        ("transformers", ["not a question", "too broad"]),
        ("¿Cómo mejoran los modelos de difusión la generación de imágenes?", ["language"]),
    ],
)
def test_goals_that_cannot_be_answered_are_flagged_in_the_report(
    goal: str, words: list[str], daily_corpus: Path, tmp_path: Path
) -> None:
    run_research(goal, Context(corpus=str(daily_corpus)), tmp_path)
    data, md = report(tmp_path)
    assert data["policy"] != "AUTO_APPROVE"
    uncertainties = section(md, "## 4 Uncertainties", "## 5")
    for word in words:
        assert word in uncertainties


def test_approval_metrics_count_what_the_policy_did() -> None:
    def outcome(answerable: bool, policy: str) -> GoalOutcome:
        return GoalOutcome(
            set="t", goal="g", answerable=answerable, policy=policy, verdict="APPROVE",
            score=7.0, reason="", relevant_verified=0, seconds=0.0,
        )  # fmt: skip

    m = metrics(
        [
            outcome(True, "AUTO_APPROVE"),
            outcome(True, "HUMAN_REVIEW"),
            outcome(True, "REJECT"),
            outcome(False, "AUTO_APPROVE"),
            outcome(False, "HUMAN_REVIEW"),
        ]
    )
    assert m.auto_approve_precision == 0.5
    assert m.unanswerable_auto_approved_rate == 0.5
    assert m.answerable_rejected_rate == pytest.approx(1 / 3, abs=1e-4)


def test_every_adjudication_quotes_its_answering_abstract(scifact_dir: Path) -> None:
    """A withheld claim is relabelled answerable only with the sentence that answers it,
    quoted verbatim from an abstract of the corpus that the claim does not cite."""
    corpus = {
        str(row["doc_id"]): row
        for row in map(json.loads, (scifact_dir / "corpus.jsonl").read_text().splitlines())
    }
    claims = {
        row["id"]: row
        for row in map(json.loads, (scifact_dir / "claims_train.jsonl").read_text().splitlines())
    }
    found = adjudications()
    assert found
    for a in found.values():
        assert claims[a.claim_id]["claim"] == a.claim
        assert a.stance in {"SUPPORT", "CONTRADICT"}
        assert not {int(d) for d in a.answered_by} & set(claims[a.claim_id]["cited_doc_ids"])
        sentences = [s for d in a.answered_by for s in corpus[d]["abstract"]]
        assert a.evidence in sentences, a.claim_id


def test_an_adjudicated_claim_is_answerable_only_while_its_abstract_is_in_the_corpus(
    scifact_dir: Path, tmp_path: Path
) -> None:
    claims, corpus = scifact_dir / "claims_train.jsonl", scifact_dir / "corpus.jsonl"
    plain = scifact_goals(claims, corpus, 6, cache=str(tmp_path), adjudicated={})
    withheld = [g for g in plain if not g.answerable]
    assert len(withheld) == 3
    ids = {
        f"Is it true that {r['claim'].rstrip('. ')}?": r["id"]
        for r in map(json.loads, claims.read_text().splitlines())
    }
    target = ids[withheld[0].goal]
    corpus_ids = {
        json.loads(line)["id"] for line in Path(withheld[0].corpus).read_text().splitlines()
    }
    present = sorted(corpus_ids)[0]

    def adjudicate(doc: str) -> dict[int, Adjudication]:
        return {
            target: Adjudication(
                claim_id=target, claim="", answered_by=[doc], evidence="", stance="SUPPORT"
            )
        }

    relabelled = scifact_goals(
        claims, corpus, 6, cache=str(tmp_path), adjudicated=adjudicate(present)
    )
    goal = next(g for g in relabelled if g.goal == withheld[0].goal)
    assert goal.answerable and goal.papers == [present] and goal.constructed_answerable is False
    assert sum(g.answerable for g in relabelled) == sum(g.answerable for g in plain) + 1
    # the answering abstract is itself withheld (here: the claim's own citation): unanswerable
    gone = str(
        next(r for r in map(json.loads, claims.read_text().splitlines()) if r["id"] == target)[
            "cited_doc_ids"
        ][0]
    )
    assert gone not in corpus_ids
    missing = scifact_goals(claims, corpus, 6, cache=str(tmp_path), adjudicated=adjudicate(gone))
    assert not next(g for g in missing if g.goal == withheld[0].goal).answerable


def test_the_report_keeps_the_constructed_labels_beside_the_adjudicated_ones() -> None:
    def outcome(answerable: bool, policy: str, constructed: bool | None) -> GoalOutcome:
        return GoalOutcome(
            set="scifact", goal="g", answerable=answerable, constructed_answerable=constructed,
            policy=policy, verdict="APPROVE", score=7.0, reason="", relevant_verified=0,
            seconds=0.0,
        )  # fmt: skip

    sets = set_metrics(
        [
            outcome(True, "AUTO_APPROVE", None),
            outcome(True, "AUTO_APPROVE", False),  # answered by an abstract it does not cite
            outcome(False, "HUMAN_REVIEW", None),
        ]
    )
    assert sets["scifact"].auto_approve_precision == 1.0
    assert sets["scifact"].unanswerable_auto_approved_rate == 0.0
    constructed = sets["scifact" + AS_CONSTRUCTED]
    assert constructed.auto_approve_precision == 0.5
    assert constructed.unanswerable_auto_approved_rate == 0.5
    assert set(set_metrics([outcome(True, "AUTO_APPROVE", None)])) == {"scifact"}


def test_the_table_names_each_unanswerable_goal_that_was_approved() -> None:
    def outcome(goal: str, answerable: bool, policy: str) -> GoalOutcome:
        return GoalOutcome(
            set="arxiv", goal=goal, answerable=answerable, policy=policy, verdict="APPROVE",
            score=7.0, reason="", relevant_verified=0, seconds=0.0, out_dir=f"runs/{goal}",
        )  # fmt: skip

    outcomes = [outcome("a", True, "AUTO_APPROVE"), outcome("b", False, "AUTO_APPROVE")]
    outcomes.append(outcome("c", False, "HUMAN_REVIEW"))
    report = ApprovalReport(
        sets=set_metrics(outcomes), overall=metrics(outcomes), outcomes=outcomes, wall_s=0.0
    )
    listed = markdown_table(report).split("labelled unanswerable")[1]
    assert "- b (runs/b)" in listed and "- a " not in listed and "- c " not in listed


def test_the_labelled_goals_name_the_papers_that_answer_them(daily_corpus: Path) -> None:
    ids = {json.loads(line)["id"] for line in daily_corpus.read_text().splitlines()}
    rows = [json.loads(line) for line in ARXIV_GOALS.read_text().splitlines() if line.strip()]
    assert sum(r["answerable"] for r in rows) >= 5 and sum(not r["answerable"] for r in rows) >= 5
    for row in rows:
        assert bool(row["papers"]) == row["answerable"]
        assert set(row["papers"]) <= ids, row["goal"]


def test_an_unanswerable_labelled_goal_runs_to_a_policy(daily_corpus: Path, tmp_path: Path) -> None:
    goal = LabelledGoal(
        set="arxiv",
        goal="How much does carbon pricing reduce household electricity consumption in Europe?",
        answerable=False,
        corpus=str(daily_corpus),
    )
    outcome = run_goal(goal, str(tmp_path / "run"), None)
    assert outcome.policy in {"HUMAN_REVIEW", "REJECT"}


@pytest.mark.parametrize(
    "rules", [{"min_goal_coverage": 1.5}, {"min_goal_coverage": -0.1}, {"min_relevant_claims": -1}]
)
def test_the_evidence_rules_are_bounded(rules: dict[str, float]) -> None:
    from sovereign_agents.errors import ConfigError

    with pytest.raises(ConfigError, match=next(iter(rules))):
        Context(policy=rules)
