"""The tribunal: one named node per reviewer of the registry (roles.py), in parallel, then
aggregate and route."""

from __future__ import annotations

from statistics import fmean
from typing import Any, Literal

from langgraph._internal._runnable import RunnableCallable
from langgraph.runtime import Runtime

from sovereign_agents.context import Context
from sovereign_agents.engines import engine_for, role_step
from sovereign_agents.nodes.common import context_of
from sovereign_agents.nodes.dual import dual_node
from sovereign_agents.round_signals import signals_of
from sovereign_agents.schemas import ReviewerRole, TribunalRound, TribunalVerdict
from sovereign_agents.slots import in_slot
from sovereign_agents.state import ResearchState, active_claims, current_reviews
from sovereign_agents.steps import Body
from sovereign_agents.tracing import emit, traced
from sovereign_agents.wording import score


def make_reviewer(role: ReviewerRole) -> RunnableCallable:
    """A node that runs one reviewer role on the current draft."""

    @dual_node(role)
    def review(state: ResearchState, runtime: Runtime[Context]) -> Body[dict[str, Any]]:
        context = context_of(runtime)
        signals = signals_of(state, context)
        call = role_step(
            engine_for(role, context),
            "review",
            role,
            state["goal"],
            state["draft"],
            active_claims(state),
            signals,
        )
        result = yield in_slot(call, context)
        emit(
            {
                "event": "progress",
                "node": role,
                "message": f"{role.upper()} scored {score(result.value.score)}/10",
            }
        )
        return {
            "reviews": [result.value],
            "uncertainties": result.uncertainties,
            "model_calls": result.model_calls,
        }

    return review


def verdict_for(score: float, round_: int, context: Context) -> TribunalVerdict:
    if score >= context.tribunal.approve_threshold:
        return TribunalVerdict.APPROVE
    if round_ < context.tribunal.max_revisions:
        return TribunalVerdict.REVISE
    return TribunalVerdict.REJECT


@traced("aggregate")
def aggregate(state: ResearchState, runtime: Runtime[Context]) -> dict[str, Any]:
    """The tribunal score is the mean of the round's reviews; their spread is kept beside it."""
    context = context_of(runtime)
    round_ = state.get("revision_round", 0)
    reviews = sorted((r for r in current_reviews(state) if r.round == round_), key=lambda r: r.role)
    scores = [r.score for r in reviews]
    mean = round(fmean(scores), 2) if scores else 0.0
    spread = round(max(scores) - min(scores), 2) if scores else 0.0
    verdict = verdict_for(mean, round_, context)
    emit(
        {
            "event": "progress",
            "node": "aggregate",
            "message": f"round {round_}: tribunal {score(mean)}/10 "
            f"{'>=' if mean >= context.tribunal.approve_threshold else '<'} {context.tribunal.approve_threshold} "
            f"-> {verdict.value}",
        }
    )
    record = TribunalRound(
        round=round_,
        score=mean,
        spread=spread,
        reviews=reviews,
        verdict=verdict,
        claims={c.id: c.verified for c in active_claims(state)},
    )
    return {"tribunal": [record]}


def route_after_tribunal(state: ResearchState) -> Literal["revise", "human_review"]:
    """Revise when the last round asked for it (the round counter in state bounds the loop);
    else on to the close: human review of disputed claims (when asked for), then policy."""
    last = state["tribunal"][-1]
    return "revise" if last.verdict == TribunalVerdict.REVISE else "human_review"
