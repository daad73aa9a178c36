"""Run signals are measured once per round, kept in the state, and read from there."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Overwrite

from sovereign_agents import Context, build_graph, round_signals
from sovereign_agents.runner import CHECKPOINTS, run_research, serde_allowlist, sqlite_checkpointer
from sovereign_agents.state import RoundSignals
from sovereign_agents.testing import ScriptedEngine

GOAL = "How do mixture-of-experts models reduce inference cost?"


@pytest.fixture
def measured(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The round of every measurement a run makes (signals.measure, wherever called)."""
    rounds: list[int] = []
    real = round_signals.measure

    def counting(*args: Any, **kwargs: Any) -> Any:
        rounds.append(kwargs["round"])
        return real(*args, **kwargs)

    monkeypatch.setattr(round_signals, "measure", counting)
    return rounds


def run(corpus: Path, scores: dict[int, Any]) -> tuple[Any, Any, Context]:
    graph = build_graph(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t"}}
    context = Context(corpus=str(corpus), llm=ScriptedEngine(scores))
    graph.invoke({"goal": GOAL}, config=config, context=context)
    return graph, graph.get_state(config).values, context


def fresh(state: Any, context: Context) -> Any:
    return round_signals.measure_round(state, context, state.get("draft"))


def test_one_measurement_per_round(daily_corpus: Path, measured: list[int]) -> None:
    # before: draft, each of the three reviewers, policy and report measured again (6 a
    # round, 11 with a revision: revise too)
    _, state, context = run(daily_corpus, {0: 8.0})
    assert measured == [0]
    measured.clear()
    _, state, context = run(daily_corpus, {0: 3.0, 1: 3.0})
    assert state["revision_round"] == 1
    assert measured == [0, 1]
    # what is kept is exactly what measuring the final state gives
    kept = state["signals"]
    assert isinstance(kept, RoundSignals) and kept.signals.round == 1
    assert kept.signals == fresh(state, context)
    assert kept.signals.draft_sentences == len(state["draft"].answer) + len(state["draft"].abstract)


def test_an_edited_state_is_measured_afresh(daily_corpus: Path, measured: list[int]) -> None:
    _, state, context = run(daily_corpus, {0: 8.0})
    measured.clear()
    assert round_signals.signals_of(state, context) is state["signals"].signals
    assert measured == []  # read, not measured
    # a claim dropped by hand (a fork with --state): the kept signals no longer hold
    claims = list(state["claims"])
    first = next(c for c in claims if c.active)
    edited: Any = {**state, "claims": [c for c in claims if c.id != first.id]}
    signals = round_signals.signals_of(edited, context)
    assert measured == [0] and signals.n_claims == state["signals"].signals.n_claims - 1
    # the threshold is the recorded verifier's (what verified the claims), not the context's
    measured.clear()
    tighter = Context(corpus=context.search.corpus, llm=context.models.llm, verify_threshold=0.9)
    assert round_signals.signals_of(state, tighter) is state["signals"].signals
    assert measured == []
    # a state whose verifier record changed (a fork with --state) is measured with it
    record = state["verifier"].model_copy(update={"threshold": 0.9})
    assert round_signals.signals_of({**state, "verifier": record}, context).threshold == 0.9
    assert measured == [0]


def test_shuffled_claims_in_a_fork_reach_the_reviewers(
    daily_corpus: Path, measured: list[int]
) -> None:
    """The sensitivity eval's shuffle-claims fork: the reviewers see the shuffled order."""
    graph, _, context = run(daily_corpus, {0: 8.0})
    config: Any = {"configurable": {"thread_id": "t"}}
    before_tribunal = next(s for s in graph.get_state_history(config) if "skeptic" in s.next)
    claims = list(before_tribunal.values["claims"])
    random.Random(1).shuffle(claims)
    forked = graph.update_state(before_tribunal.config, {"claims": Overwrite(claims)}, "draft")
    measured.clear()
    graph.invoke(None, forked, context=context)
    # the kept signals do not match the shuffled claims: each reader (three reviewers, policy,
    # report) measures the state it is given, as every reader did before signals were kept
    assert measured == [0] * 5
    state = graph.get_state(config).values
    ids = [c.id for c in claims if c.active and not c.verified]
    assert round_signals.signals_of(state, context).unverified_ids == ids


def test_the_signals_channel_loads_from_a_checkpoint(daily_corpus: Path, tmp_path: Path) -> None:
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    result = run_research(GOAL, Context(corpus=str(daily_corpus)), tmp_path / "run")
    with sqlite_checkpointer(result.out_dir / CHECKPOINTS) as saver:
        saver.serde = JsonPlusSerializer(allowed_msgpack_modules=serde_allowlist())
        values = (
            build_graph(checkpointer=saver)
            .get_state({"configurable": {"thread_id": result.run_id}})
            .values
        )
    assert isinstance(values["signals"], RoundSignals)
    assert values["signals"].signals.round == values["revision_round"]
