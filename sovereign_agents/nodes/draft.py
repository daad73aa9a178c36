"""draft: measure the run, then write the abstract and the answer to the goal."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from sovereign_agents.context import Context
from sovereign_agents.engines import engine_for
from sovereign_agents.nodes.common import context_of
from sovereign_agents.signals import RunSignals, measure
from sovereign_agents.state import ResearchState, active_claims
from sovereign_agents.tracing import traced
from sovereign_agents.verification.resolve import recorded_verifier


def run_signals(state: ResearchState, context: Context, with_draft: bool) -> RunSignals:
    return measure(
        state["goal"],
        active_claims(state),
        state.get("papers", []),
        threshold=recorded_verifier(state, context).threshold,
        min_relevance=context.search.min_relevance,
        round=state.get("revision_round", 0),
        draft=state.get("draft") if with_draft else None,
        analysis=state.get("goal_analysis"),
    )


@traced("draft")
def draft(state: ResearchState, runtime: Runtime[Context]) -> dict[str, Any]:
    context = context_of(runtime)
    signals = run_signals(state, context, with_draft=False)
    result = engine_for("writer", context).write(
        state["goal"],
        active_claims(state),
        signals,
        state.get("revision"),
        state.get("revision_round", 0),
    )
    return {
        "draft": result.value,
        "uncertainties": result.uncertainties,
        "model_calls": result.model_calls,
    }
