"""The tribunal's routing, driven both ways by scripted reviewers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from sovereign_agents import Context, build_graph
from sovereign_agents.testing import ScriptedEngine

GOAL = "How do mixture-of-experts models reduce inference cost?"


def run(corpus: Path, engine: ScriptedEngine, **knobs: Any) -> tuple[dict[str, Any], Any]:
    graph = build_graph(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    out = graph.invoke(
        {"goal": GOAL}, config=config, context=Context(corpus=str(corpus), llm=engine, **knobs)
    )
    return out, graph.get_state(config).values


def test_high_scores_approve_without_revision(daily_corpus: Path) -> None:
    engine = ScriptedEngine({0: 8.0})
    out, state = run(daily_corpus, engine)
    assert out["verdict"] == "APPROVE" and out["policy"] == "AUTO_APPROVE"
    assert state["revision_round"] == 0 and len(state["tribunal"]) == 1
    reviews = sorted(c for c in engine.calls if c[0] in {"skeptic", "validator", "synthesizer"})
    assert reviews == [("skeptic", 0), ("synthesizer", 0), ("validator", 0)]


def test_low_then_high_scores_revise_once_then_approve(daily_corpus: Path) -> None:
    engine = ScriptedEngine({0: 4.0, 1: {"skeptic": 7.0, "validator": 8.0, "synthesizer": 6.0}})
    out, state = run(daily_corpus, engine)
    assert [t.verdict.value for t in state["tribunal"]] == ["REVISE", "APPROVE"]
    assert state["tribunal"][1].score == pytest.approx(7.0)
    assert state["tribunal"][1].spread == pytest.approx(2.0)
    assert out["policy"] == "AUTO_APPROVE" and state["revision_round"] == 1
    # the round's reviews were reset: only round 1's three remain in state
    assert sorted((r.role, r.round) for r in state["reviews"]) == [
        ("skeptic", 1),
        ("synthesizer", 1),
        ("validator", 1),
    ]
    # the revision searched again with new queries
    rounds = {q.round for q in state["query_log"]}
    assert rounds == {0, 1}
    assert out["report"]["revision"]["round"] == 1


def test_low_scores_revise_once_then_go_to_a_human(daily_corpus: Path) -> None:
    engine = ScriptedEngine({0: 3.0, 1: 3.0})
    out, state = run(daily_corpus, engine)
    assert [t.verdict.value for t in state["tribunal"]] == ["REVISE", "REJECT"]
    assert out["policy"] == "HUMAN_REVIEW"
    reviews = [c for c in engine.calls if c[0] in {"skeptic", "validator", "synthesizer"}]
    assert len(reviews) == 6  # exactly one revision round: the counter stops the loop


def test_max_revisions_knob_bounds_the_loop(daily_corpus: Path) -> None:
    engine = ScriptedEngine({0: 3.0, 1: 3.0, 2: 3.0})
    _, state = run(daily_corpus, engine, max_revisions=0)
    assert len(state["tribunal"]) == 1 and state["revision_round"] == 0
    _, state = run(daily_corpus, engine, max_revisions=2)
    assert len(state["tribunal"]) == 3 and state["revision_round"] == 2


def test_revision_drops_failed_claims_and_keeps_stable_ids(daily_corpus: Path) -> None:
    engine = ScriptedEngine({0: 2.0, 1: 2.0})
    # the reference verifier at a strict threshold: some claims fail
    _, state = run(daily_corpus, engine, verifier="tfidf", verify_threshold=0.45)
    first = state["tribunal"][0].claims
    failed = {cid for cid, ok in first.items() if not ok}
    assert failed, "the strict threshold should fail some claims"
    dropped = {c.id for c in state["claims"] if c.dropped_in_round == 1}
    assert failed <= dropped
    assert failed.isdisjoint(state["tribunal"][1].claims)
    survivors = set(first) - dropped
    assert survivors <= set(state["tribunal"][1].claims)  # same ids after the round


def test_policy_rules_come_from_the_context(daily_corpus: Path) -> None:
    from sovereign_agents import PolicyRules

    engine = ScriptedEngine({0: 8.0})
    out, _ = run(daily_corpus, engine, policy=PolicyRules(min_verified_claims=10_000))
    assert out["verdict"] == "APPROVE" and out["policy"] == "HUMAN_REVIEW"
    assert out["report"]["policy_rules"]["min_verified_claims"] == 10_000


@pytest.mark.parametrize("limit", [1, 2])
def test_a_run_with_one_request_at_a_time_finishes(
    daily_corpus: Path, tmp_path: Path, limit: int
) -> None:
    """max_concurrency=1 (a single-slot server) once left LangGraph's pool no thread for any
    node: the run hung before plan. The run is watched from another thread, not waited on."""
    import threading

    from sovereign_agents.runner import run_research

    results: list[Any] = []
    worker = threading.Thread(
        target=lambda: results.append(
            run_research(GOAL, Context(corpus=str(daily_corpus), max_concurrency=limit), tmp_path)
        ),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=600)  # a hang guard, not a speed target
    assert results and results[0].report_json is not None, "the run hung"
