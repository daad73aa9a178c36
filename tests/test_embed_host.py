"""The research graph inside a host graph that has its own context schema: each way of handing
our Context down, the error when none is used, and ``as_tool`` with only a goal."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel
from typing_extensions import TypedDict

from sovereign_agents import Context, build_graph
from sovereign_agents.errors import ContextError
from sovereign_agents.nodes.common import as_context, context_of

GOAL = "How does speculative decoding speed up LLM inference?"


@dataclasses.dataclass
class AppCtx:  # a host's own context: its knobs, and (optionally) ours in `sovereign`
    user: str = "ada"
    sovereign: Any = None


class AppDict(TypedDict, total=False):
    user: str
    sovereign: Any


class AppModel(BaseModel):
    user: str = "ada"
    sovereign: Any = None


@dataclasses.dataclass
class ForeignCtx:  # a host that knows nothing of ours
    user: str = "ada"


class HostState(TypedDict, total=False):
    goal: str
    asked_by: str
    report: dict[str, Any]
    policy: str


def ask(state: HostState, runtime: Runtime[Any]) -> dict[str, Any]:
    """The host's own node reads the host's own context."""
    context = runtime.context
    user = context["user"] if isinstance(context, dict) else context.user
    return {"asked_by": user}


def host(schema: type, research: Any = None) -> Any:
    return (
        StateGraph(HostState, context_schema=schema)
        .add_node("ask", ask)
        .add_node("research", research or build_graph(name="research"))
        .add_edge(START, "ask")
        .add_edge("ask", "research")
        .compile()
    )


def knobs_of(out: dict[str, Any]) -> dict[str, Any]:
    """The knobs the research run used, as its report records them."""
    assert out["asked_by"] == "bob"  # the host's context still reached the host's node
    assert out["policy"] in {"AUTO_APPROVE", "HUMAN_REVIEW", "REJECT"}
    context: dict[str, Any] = out["report"]["context"]
    assert len(out["report"]["papers"]) <= context["max_papers"]
    return context


@pytest.mark.parametrize(
    "make",
    [AppCtx, lambda **kw: AppDict(**kw), AppModel],
    ids=["dataclass", "typeddict", "pydantic"],
)
def test_a_context_handed_down_in_the_sovereign_field(make: Any, daily_corpus: Path) -> None:
    schema = {AppCtx: AppCtx, AppModel: AppModel}.get(make, AppDict)
    ours = Context(corpus=str(daily_corpus), max_papers=2, approve_threshold=7.25)
    out = host(schema).invoke({"goal": GOAL}, context=make(user="bob", sovereign=ours))
    used = knobs_of(out)
    assert used["max_papers"] == 2 and used["approve_threshold"] == 7.25


def test_a_dict_of_knobs_over_a_preset_handed_down(daily_corpus: Path) -> None:
    handed = {"preset": "reference", "corpus": str(daily_corpus), "search.max_papers": 3}
    out = host(AppCtx).invoke({"goal": GOAL}, context=AppCtx(user="bob", sovereign=handed))
    assert knobs_of(out)["max_papers"] == 3
    assert out["report"]["verifier"]["name"] == "tfidf"  # the reference preset's verifier


def test_a_preset_name_handed_down(daily_corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOVEREIGN_CORPUS", str(daily_corpus))  # a preset names no corpus
    out = host(AppDict).invoke({"goal": GOAL}, context={"user": "bob", "sovereign": "reference"})
    used = knobs_of(out)
    assert used["corpus"] == str(daily_corpus) and used["verifier"] == "tfidf"


def test_a_context_bound_by_build_graph(daily_corpus: Path) -> None:
    research = build_graph(name="research", context=Context(corpus=str(daily_corpus), max_papers=2))
    out = host(ForeignCtx, research).invoke({"goal": GOAL}, context=ForeignCtx(user="bob"))
    assert knobs_of(out)["max_papers"] == 2
    out = host(AppCtx, research).invoke({"goal": GOAL}, context=AppCtx(user="bob"))
    assert knobs_of(out)["max_papers"] == 2  # an empty field: the bound one
    # the field, given per run, wins over the bound default
    handed = {"corpus": str(daily_corpus), "max_papers": 4}
    out = host(AppCtx, research).invoke({"goal": GOAL}, context=AppCtx("bob", handed))
    assert knobs_of(out)["max_papers"] == 4
    # standalone with no context, the bound one runs too
    alone = build_graph(context={"preset": "reference", "corpus": str(daily_corpus)})
    assert alone.invoke({"goal": GOAL})["report"]["verifier"]["name"] == "tfidf"


@pytest.mark.parametrize("context", [ForeignCtx(user="bob"), {"user": "bob"}], ids=["obj", "dict"])
def test_a_host_context_without_ours_is_one_clear_error(context: Any) -> None:
    schema = ForeignCtx if isinstance(context, ForeignCtx) else AppDict
    with pytest.raises(ContextError) as caught:
        host(schema).invoke({"goal": GOAL}, context=context)
    message = str(caught.value)
    kind = "ForeignCtx" if isinstance(context, ForeignCtx) else "dict with keys ['user']"
    assert f"the run's context ({kind}) is not a sovereign_agents Context" in message
    assert message.endswith("or binds one with build_graph(context=...)")
    assert "'sovereign'" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("handed", "says"),
    [
        ("offlin", "names an unknown preset 'offlin': use one of offline, "),
        ({"preset": 3}, "names an unknown preset 3"),
        ({"max_paper": 3}, "unknown context key 'max_paper'"),
        ({"max_papers": 0}, "search.max_papers must be >= 1"),
        (42, "is a int: give a sovereign_agents Context, a preset name"),
    ],
)
def test_a_bad_hand_down_names_the_problem(handed: Any, says: str) -> None:
    with pytest.raises(ContextError, match=None) as caught:
        host(AppCtx).invoke({"goal": GOAL}, context=AppCtx(user="bob", sovereign=handed))
    assert says in str(caught.value), str(caught.value)


def test_an_empty_sovereign_field_means_the_defaults(
    daily_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOVEREIGN_CORPUS", str(daily_corpus))
    out = host(AppCtx).invoke({"goal": GOAL}, context=AppCtx(user="bob"))
    assert knobs_of(out)["max_papers"] == Context().search.max_papers


def test_a_bad_bound_context_fails_when_the_graph_is_built() -> None:
    with pytest.raises(ContextError, match=r"build_graph\(context=\.\.\.\) names an unknown"):
        build_graph(context="no-such-preset")


def test_our_own_contexts_resolve_as_before() -> None:
    assert context_of(None) == Context()
    ours = Context(max_papers=3)
    assert context_of(Runtime(context=ours)) is ours
    assert context_of(Runtime(context={"max_papers": 3})).search.max_papers == 3
    with pytest.raises(ContextError) as caught:
        context_of(Runtime(context={"max_paper": 3}))  # a typo in our own dict, named
    assert str(caught.value).endswith(
        "if it is meant as ours: unknown context key 'max_paper' (set to 3): did you mean "
        "max_papers?"
    )
    with pytest.raises(ContextError, match="unknown context key 'max_paper'"):
        context_of(Runtime(context={"max_paper": 3, "corpus": "x.jsonl"}))


def test_a_handed_down_dict_is_read_again_when_it_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    knobs: dict[str, Any] = {"max_papers": 3}
    assert as_context(knobs).search.max_papers == 3
    assert as_context(knobs) is as_context({"max_papers": 3})  # memoized by content
    knobs["max_papers"] = 5
    assert as_context(knobs).search.max_papers == 5
    monkeypatch.setenv("SOVEREIGN_CORPUS", "elsewhere.jsonl")  # the defaults it falls back to
    assert as_context({"max_papers": 5}).search.corpus == "elsewhere.jsonl"


def test_as_tool_takes_a_goal_alone(daily_corpus: Path) -> None:
    assert build_graph().as_tool().args_schema.model_json_schema()["required"] == ["goal"]  # type: ignore[union-attr]
    tool = build_graph(context=Context(corpus=str(daily_corpus), max_papers=2)).as_tool()
    out = tool.invoke({"goal": GOAL})
    assert out["goal"] == GOAL and out["report"]["context"]["max_papers"] == 2
    assert out["report"]["claims"] and out["report_markdown"].startswith("#")
    assert out["policy"] in {"AUTO_APPROVE", "HUMAN_REVIEW", "REJECT"}


def test_the_example_parent_hands_our_context_down(daily_corpus: Path) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    from tests.test_langgraph_tooling import embed_example

    example = embed_example()
    parent = example.build_parent(checkpointer=InMemorySaver())
    handed = {"corpus": str(daily_corpus), "max_papers": 3}
    out = parent.invoke(
        {"question": "How does speculative decoding speed up LLM inference"},
        {"configurable": {"thread_id": "host"}},
        context=example.AssistantContext(cited=1, sovereign=handed),
    )
    assert out["report"]["context"]["max_papers"] == 3
    if out["policy"] == "AUTO_APPROVE":
        assert out["answer"].count(" [") == 1  # the parent's own knob: one cited claim
    bound = example.build_parent(research_context=Context(corpus=str(daily_corpus), max_papers=2))
    out = bound.invoke({"question": "speculative decoding"}, context={"cited": 2})
    assert out["report"]["context"]["max_papers"] == 2
