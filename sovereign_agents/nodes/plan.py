"""plan: validate the input, anchor the run on a paper, write the round's search queries."""

from __future__ import annotations

import uuid
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Send

from sovereign_agents import roles
from sovereign_agents.context import Context
from sovereign_agents.engines import engine_for, role_step, validate_specs
from sovereign_agents.errors import InputError
from sovereign_agents.goal import understand_goal, with_vocabulary
from sovereign_agents.node_cache import run_context_key
from sovereign_agents.nodes.common import context_of
from sovereign_agents.nodes.dual import dual_node
from sovereign_agents.prompts import load_run_prompts
from sovereign_agents.search import search_backend
from sovereign_agents.state import ResearchState, SearchTask
from sovereign_agents.steps import Body, offload
from sovereign_agents.text import goal_terms
from sovereign_agents.tracing import emit, now_iso, record_call

MAX_GOAL_CHARS = 2000


def check_goal(raw: object) -> str:
    """The goal with its whitespace collapsed; ``InputError`` when it is empty, too long, or
    has no word to search for ("What?", "x?": only stop words, question words or numbers)."""
    goal = " ".join(str(raw or "").split())
    if not goal:
        raise InputError("the research goal is empty")
    if len(goal) > MAX_GOAL_CHARS:
        raise InputError(f"the research goal is longer than {MAX_GOAL_CHARS} characters")
    if not goal_terms(goal):
        raise InputError(
            f"the research goal {goal[:80]!r} has no topic word to search for; ask about a "
            "subject, e.g. 'How do sparse mixture-of-experts models reduce inference cost?'"
        )
    return goal


@dual_node("plan")
def plan(state: ResearchState, runtime: Runtime[Context]) -> Body[dict[str, Any]]:
    context = context_of(runtime)
    goal = check_goal(state.get("goal"))
    validate_specs(context)
    run_roles = roles.engine_roles()
    prompts = load_run_prompts(
        context.models.prompt_versions, context.models.prompts_dir, run_roles
    )
    backend = search_backend(context)
    anchor = None
    if state.get("paper"):
        anchor = yield offload(backend.get, str(state["paper"]))
        record_call(
            {
                "kind": "lookup",
                "backend": backend.name,
                "describe": backend.describe(),
                "paper_id": str(state["paper"]),
                "paper": anchor.model_dump(mode="json") if anchor else None,
            }
        )
        if anchor is None:
            raise InputError(f"paper {state['paper']} not found ({backend.describe()})")
    index = getattr(backend, "index", None)  # a local corpus knows its vocabulary
    analysis = with_vocabulary(understand_goal(goal), getattr(index, "vocabulary", None))
    for flag in analysis.flags():
        emit({"event": "progress", "node": "plan", "message": f"goal: {flag}"})
    planner = engine_for("planner", context)
    result = yield role_step(planner, "plan", goal, anchor, context.search.n_queries)
    for query in result.value:
        emit({"event": "progress", "node": "plan", "message": f"query: {query}"})
    return {
        "goal": goal,
        "run_id": state.get("run_id") or uuid.uuid4().hex[:12],
        "created_at": now_iso(),
        "context_key": run_context_key(context, backend),
        "anchor": anchor,
        "goal_analysis": analysis,
        "queries": result.value,
        "revision_round": 0,
        "prompts": [prompts[role].record(engine_for(role, context).name) for role in run_roles],
        "uncertainties": result.uncertainties,
        "model_calls": result.model_calls,
    }


def fan_out_queries(state: ResearchState) -> list[Send] | str:
    """One ``Send("search")`` per query of the current round: the searches run in parallel."""
    round_ = state.get("revision_round", 0)
    sends = [
        Send(
            "search",
            SearchTask(
                query=q, round=round_, goal=state["goal"], context_key=state.get("context_key")
            ),
        )
        for q in state.get("queries", [])
    ]
    return sends or "index"
