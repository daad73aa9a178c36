"""revise: drop the claims that failed, refine the queries, reset the round's reviews."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Overwrite

from sovereign_agents.context import Context
from sovereign_agents.engines import engine_for, role_step
from sovereign_agents.nodes.common import context_of
from sovereign_agents.nodes.dual import dual_node
from sovereign_agents.round_signals import signals_of
from sovereign_agents.state import ResearchState, active_claims, current_reviews
from sovereign_agents.steps import Body
from sovereign_agents.tracing import emit
from sovereign_agents.wording import count


@dual_node("revise")
def revise(state: ResearchState, runtime: Runtime[Context]) -> Body[dict[str, Any]]:
    context = context_of(runtime)
    next_round = state.get("revision_round", 0) + 1
    claims = active_claims(state)
    signals = signals_of(state, context)
    done = [q.query for q in state.get("query_log", [])]
    result = yield role_step(
        engine_for("reviser", context),
        "revise",
        state["goal"],
        done,
        current_reviews(state),
        claims,
        signals,
        context.search.n_queries,
        next_round,
    )
    plan = result.value
    by_id = {c.id: c for c in claims}
    dropped = [
        by_id[cid].model_copy(
            update={"dropped_in_round": next_round, "drop_reason": _reason(cid, signals)}
        )
        for cid in plan.dropped_claim_ids
        if cid in by_id
    ]
    emit(
        {
            "event": "progress",
            "node": "revise",
            "message": f"round {next_round}: dropped {count(len(dropped), 'claim')}, "
            f"{count(len(plan.queries), 'new query', 'new queries')}",
        }
    )
    return {
        "revision_round": next_round,
        "revision": plan,
        "queries": plan.queries,
        "claims": dropped,
        "reviews": Overwrite([]),
        "uncertainties": result.uncertainties,
        "model_calls": result.model_calls,
    }


def _reason(claim_id: str, signals: Any) -> str:
    if claim_id in signals.unverified_ids:
        return "not verified against its source"
    if claim_id in signals.off_goal_ids:
        return "shares no term with the goal"
    return "raised by the tribunal"
