"""draft: measure the round, write the abstract and the answer to the goal, keep the signals.

The round's signals are measured here once (round_signals.py) and kept in the state for the
reviewers, revise, policy and report.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from sovereign_agents.context import Context
from sovereign_agents.engines import engine_for, role_step
from sovereign_agents.nodes.common import context_of
from sovereign_agents.nodes.dual import dual_node
from sovereign_agents.round_signals import kept, measure_round
from sovereign_agents.state import ResearchState, active_claims
from sovereign_agents.steps import Body


@dual_node("draft")
def draft(state: ResearchState, runtime: Runtime[Context]) -> Body[dict[str, Any]]:
    context = context_of(runtime)
    signals = measure_round(state, context, draft=None)
    result = yield role_step(
        engine_for("writer", context),
        "write",
        state["goal"],
        active_claims(state),
        signals,
        state.get("revision"),
        state.get("revision_round", 0),
    )
    return {
        "draft": result.value,
        "signals": kept(state, context, signals, result.value),
        "uncertainties": result.uncertainties,
        "model_calls": result.model_calls,
    }
