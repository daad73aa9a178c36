"""Embedding the research graph in a larger agent system: the compiled graph as one node.

The parent frames a user's question as a research goal, runs the research graph as a
subgraph, and turns its verdict into an answer. The subgraph is compiled without a
checkpointer, so it uses the parent's: one thread holds the parent's and the subgraph's
checkpoints (``graph.get_state(config, subgraphs=True)``), and interrupts inside the
research graph pause the parent too.

The parent has its own context schema (``AssistantContext``); the research graph's nodes
receive that object and read ours from its ``sovereign`` field: a ``Context``, a preset name,
or a dict of knobs. ``build_parent(research_context=...)`` binds a default instead
(``build_graph(context=...)``), used when a run's context carries none.

    from langgraph.checkpoint.memory import InMemorySaver
    parent = build_parent(checkpointer=InMemorySaver())
    parent.invoke({"question": "..."}, {"configurable": {"thread_id": "t1"}},
                  context=AssistantContext(sovereign={"corpus": "records.jsonl"}))

Over HTTP (``langgraph dev``, the ``research_assistant`` graph) the same goes as JSON:
``"context": {"cited": 2, "sovereign": {"corpus": "records.jsonl", "max_papers": 6}}``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, NotRequired

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph_sdk.runtime import ServerRuntime
from typing_extensions import TypedDict

from sovereign_agents import Context, build_graph
from sovereign_agents.errors import ContextError
from sovereign_agents.nodes.common import HAND_DOWN, as_context


@dataclass
class AssistantContext:
    """The parent's own context: its knob, and the research graph's context in ``sovereign``
    (a ``Context``, a preset name such as ``"offline"``, or a dict of knobs; left empty, the
    research graph runs with its defaults)."""

    cited: int = 3  # verified claims quoted in the answer
    sovereign: Context | str | dict[str, Any] | None = None


KNOWN = {f.name for f in fields(AssistantContext)}


class AssistantState(TypedDict):
    question: str
    # what the research subgraph reads (its input schema) ...
    goal: NotRequired[str]
    # ... and what it returns (its output schema)
    run_id: NotRequired[str]
    verdict: NotRequired[str]
    policy: NotRequired[str]
    tribunal_score: NotRequired[float]
    report: NotRequired[dict[str, Any]]
    report_markdown: NotRequired[str]
    # the parent's own answer
    answer: NotRequired[str]


def frame(state: AssistantState) -> dict[str, Any]:
    """Turn the user's question into a research goal."""
    question = " ".join(state["question"].split())
    return {"goal": question if question.endswith("?") else f"{question}?"}


def answer(state: AssistantState, runtime: Runtime[AssistantContext]) -> dict[str, Any]:
    """Answer from the research report: approved findings, or say why not."""
    cited = getattr(runtime.context, "cited", AssistantContext.cited)  # a bare Context: none
    report = state.get("report") or {}
    verified = [c for c in report.get("claims", []) if c.get("verified")]
    head = (
        f"{state.get('policy')} (tribunal {state.get('tribunal_score', 0):.1f}/10, "
        f"{len(verified)} verified claims)"
    )
    if state.get("policy") != "AUTO_APPROVE" or not verified:
        return {"answer": f"{head}: no reviewed answer yet; see the report."}
    quoted = "; ".join(f"{c['text']} [{c['paper_id']}]" for c in verified[:cited])
    return {"answer": f"{head}: {quoted}"}


def build_parent(
    checkpointer: Any = None, research_context: Any = None
) -> CompiledStateGraph[Any, AssistantContext, Any, Any]:
    parent = StateGraph(AssistantState, context_schema=AssistantContext)
    parent.add_node("frame", frame)
    parent.add_node("research", build_graph(name="research", context=research_context))
    parent.add_node("answer", answer)
    parent.add_edge(START, "frame")
    parent.add_edge("frame", "research")
    parent.add_edge("research", "answer")
    parent.add_edge("answer", END)
    return parent.compile(checkpointer=checkpointer, name="research_assistant")


graph = build_parent()  # the server brings the checkpointer


def make_graph(runtime: ServerRuntime) -> CompiledStateGraph[Any, AssistantContext, Any, Any]:
    """For langgraph.json: the parent, once the run's ``sovereign`` context (if any) is valid,
    so a bad knob fails the run with one line before any node runs."""
    execution = runtime.execution_runtime
    context = execution.context if execution is not None else None
    if not isinstance(context, dict):
        return graph
    unknown = sorted(set(context) - KNOWN)
    if unknown:  # the server would drop them silently
        raise ContextError(
            f"unknown context key {unknown[0]!r} of research_assistant: its keys are "
            f"{', '.join(sorted(KNOWN))}; the research graph's knobs go in {HAND_DOWN!r}"
        )
    if context.get(HAND_DOWN) is not None:
        as_context(context[HAND_DOWN], source=f"the context's {HAND_DOWN!r} field")
    return graph
