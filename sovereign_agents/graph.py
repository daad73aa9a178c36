"""The research graph, wired on one screen.

plan -> search (one Send per query) -> index -> extract (one Send per paper) -> verify
-> draft -> skeptic | validator | synthesizer (parallel; the reviewers of roles.py) -> aggregate
-> revise -> search ... (once, while the mean < 6.5)
   or -> human_review (pauses on disputed claims only with review_disputed) -> policy -> report
"""

from __future__ import annotations

from typing import Any, cast

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from sovereign_agents import node_cache, roles
from sovereign_agents.context import Context
from sovereign_agents.nodes.common import BOUND_KEY, as_context
from sovereign_agents.nodes.draft import draft
from sovereign_agents.nodes.extract import extract
from sovereign_agents.nodes.human_review import human_review
from sovereign_agents.nodes.index import fan_out_papers, index
from sovereign_agents.nodes.plan import fan_out_queries, plan
from sovereign_agents.nodes.policy import policy
from sovereign_agents.nodes.report import report
from sovereign_agents.nodes.revise import revise
from sovereign_agents.nodes.search import search
from sovereign_agents.nodes.tribunal import aggregate, make_reviewer, route_after_tribunal
from sovereign_agents.nodes.verify import verify
from sovereign_agents.state import (
    ExtractTask,
    InputDict,
    InputState,
    OutputState,
    ResearchState,
    SearchTask,
)

# typed with the input as the plain dict callers pass ({"goal": ...}, InputDict), so a
# host's type checker accepts it; at run time InputState validates it (an InputState works too)
ResearchGraph = CompiledStateGraph[ResearchState, Context, InputDict, OutputState]

GRAPH_NAME = "sovereign_research"


def build_builder() -> StateGraph[ResearchState, Context, InputState, OutputState]:
    """The uncompiled graph, for callers who compile it themselves or extend it. The
    tribunal is the registry's reviewers (roles.py), checked here: a reviewer without an
    offline scorer fails now, not half-way through a run."""
    roles.check_roles()
    reviewers = roles.reviewer_names()
    g = StateGraph(
        ResearchState, context_schema=Context, input_schema=InputState, output_schema=OutputState
    )
    g.add_node("plan", plan)
    # cache policies: what a host's node cache (build_graph(cache=...)) may skip (node_cache)
    g.add_node("search", search, input_schema=SearchTask, cache_policy=node_cache.TASK)
    g.add_node("index", index)
    g.add_node("extract", extract, input_schema=ExtractTask, cache_policy=node_cache.TASK)
    g.add_node("verify", verify)
    g.add_node("draft", draft)
    for role in reviewers:
        g.add_node(role, make_reviewer(role), cache_policy=node_cache.REVIEWER)
    g.add_node("aggregate", aggregate)
    g.add_node("revise", revise)
    g.add_node("human_review", human_review)
    g.add_node("policy", policy)
    g.add_node("report", report)

    g.add_edge(START, "plan")
    g.add_conditional_edges("plan", fan_out_queries, ["search", "index"])
    g.add_edge("search", "index")
    g.add_conditional_edges("index", fan_out_papers, ["extract", "verify"])
    g.add_edge("extract", "verify")
    g.add_edge("verify", "draft")
    for role in reviewers:
        g.add_edge("draft", role)
        # One plain edge per reviewer, not the fan-in ``add_edge([...], "aggregate")``: the
        # reviewers always run in one step (all leave draft), so aggregate runs once
        # after them either way, but the fan-in's barrier channel keeps a set of names across
        # rounds that LangGraph checkpoints by reference; with background checkpoint saves,
        # round 2's reviewers wrote into round 1's saved checkpoints (a phantom ``aggregate``
        # in their ``next``; a fork there ran aggregate early and never reached the report).
        g.add_edge(role, "aggregate")
    g.add_conditional_edges("aggregate", route_after_tribunal, ["revise", "human_review"])
    g.add_conditional_edges("revise", fan_out_queries, ["search", "index"])
    g.add_edge("human_review", "policy")
    g.add_edge("policy", "report")
    g.add_edge("report", END)
    return g


def build_graph(
    checkpointer: Any = None,
    *,
    cache: Any = None,
    store: Any = None,
    interrupt_before: Any = None,
    interrupt_after: Any = None,
    name: str = GRAPH_NAME,
    debug: bool = False,
    context: Any = None,
) -> ResearchGraph:
    """The compiled research graph; arguments as LangGraph's own ``compile``, plus
    ``context``: a ``Context``, a preset name or a dict of knobs, checked now and used
    whenever a run's context is not ours (none given, or a parent graph's own context
    object without a ``sovereign`` field; see nodes/common.py)."""
    graph = build_builder().compile(
        checkpointer=checkpointer,
        cache=cache,
        store=store,
        interrupt_before=interrupt_before,
        interrupt_after=interrupt_after,
        name=name,
        debug=debug,
    )
    if context is not None:
        bound = as_context(context, source="build_graph(context=...)")
        graph = graph.with_config(configurable={BOUND_KEY: bound})
    return cast(ResearchGraph, graph)
