"""Embedding the research graph in a larger agent system: the compiled graph as one node.

The parent frames a user's question as a research goal, runs the research graph as a
subgraph, and turns its verdict into an answer. The subgraph is compiled without a
checkpointer, so it uses the parent's: one thread holds the parent's and the subgraph's
checkpoints (``graph.get_state(config, subgraphs=True)``), and interrupts inside the
research graph pause the parent too. The parent declares the same context schema, so one
``Context`` configures both.

    from langgraph.checkpoint.memory import InMemorySaver
    parent = build_parent(checkpointer=InMemorySaver())
    parent.invoke({"question": "..."}, {"configurable": {"thread_id": "t1"}},
                  context=Context(corpus="records.jsonl"))
"""

from __future__ import annotations

from typing import Any, NotRequired

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from typing_extensions import TypedDict

from sovereign_agents import Context, build_graph


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


def answer(state: AssistantState) -> dict[str, Any]:
    """Answer from the research report: approved findings, or say why not."""
    report = state.get("report") or {}
    verified = [c for c in report.get("claims", []) if c.get("verified")]
    head = (
        f"{state.get('policy')} (tribunal {state.get('tribunal_score', 0):.1f}/10, "
        f"{len(verified)} verified claims)"
    )
    if state.get("policy") != "AUTO_APPROVE" or not verified:
        return {"answer": f"{head}: no reviewed answer yet; see the report."}
    cited = "; ".join(f"{c['text']} [{c['paper_id']}]" for c in verified[:3])
    return {"answer": f"{head}: {cited}"}


def build_parent(checkpointer: Any = None) -> CompiledStateGraph[Any, Context, Any, Any]:
    parent = StateGraph(AssistantState, context_schema=Context)
    parent.add_node("frame", frame)
    parent.add_node("research", build_graph(name="research"))
    parent.add_node("answer", answer)
    parent.add_edge(START, "frame")
    parent.add_edge("frame", "research")
    parent.add_edge("research", "answer")
    parent.add_edge("answer", END)
    return parent.compile(checkpointer=checkpointer, name="research_assistant")


graph = build_parent()  # for langgraph.json: the server brings the checkpointer
