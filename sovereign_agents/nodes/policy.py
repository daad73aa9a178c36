"""policy: close the run with AUTO_APPROVE, HUMAN_REVIEW or REJECT, by the context's rules."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from sovereign_agents.context import Context
from sovereign_agents.nodes.common import context_of
from sovereign_agents.nodes.draft import run_signals
from sovereign_agents.schemas import Policy, PolicyDecision
from sovereign_agents.state import ResearchState, active_claims
from sovereign_agents.tracing import emit, traced
from sovereign_agents.wording import count
from sovereign_agents.wording import score as fmt_score


def decide(score: float, n_verified: int, n_relevant: int, context: Context) -> PolicyDecision:
    rules = context.policy
    bar = (
        rules.approve_threshold
        if rules.approve_threshold is not None
        else context.approve_threshold
    )
    if n_relevant < rules.min_relevant_papers:
        policy, reason = (
            Policy.REJECT,
            (
                f"{count(n_relevant, 'relevant paper')} found; the rules need {rules.min_relevant_papers}"
            ),
        )
    elif n_verified == 0:
        policy, reason = Policy.REJECT, "no claim could be verified against its source"
    elif score >= bar and n_verified >= rules.min_verified_claims:
        policy, reason = (
            Policy.AUTO_APPROVE,
            (f"tribunal {fmt_score(score)} >= {bar} with {count(n_verified, 'verified claim')}"),
        )
    elif score >= bar:
        policy, reason = (
            Policy.HUMAN_REVIEW,
            (f"{count(n_verified, 'verified claim')}; the rules need {rules.min_verified_claims}"),
        )
    else:
        policy, reason = (
            Policy.HUMAN_REVIEW,
            (f"tribunal {fmt_score(score)} < {bar} after the revision round"),
        )
    return PolicyDecision(policy=policy, reason=reason, rules=rules.as_dict())


def n_verified(state: ResearchState) -> int:
    """Verified claims, where a human's verdict on a disputed claim overrides the verifier."""
    return sum(
        1
        for c in active_claims(state)
        if c.human_verdict == "supported" or (c.verified and c.human_verdict != "rejected")
    )


@traced("policy")
def policy(state: ResearchState, runtime: Runtime[Context]) -> dict[str, Any]:
    context = context_of(runtime)
    last = state["tribunal"][-1]
    signals = run_signals(state, context, with_draft=True)
    decision = decide(last.score, n_verified(state), signals.n_relevant_papers, context)
    emit(
        {
            "event": "progress",
            "node": "policy",
            "message": f"{decision.policy.value}: {decision.reason}",
        }
    )
    return {
        "decision": decision,
        "verdict": last.verdict.value,
        "policy": decision.policy.value,
        "tribunal_score": last.score,
    }
