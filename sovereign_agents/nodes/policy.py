"""policy: close the run with AUTO_APPROVE, HUMAN_REVIEW or REJECT, by the context's rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.runtime import Runtime

from sovereign_agents.context import Context, PolicyRules
from sovereign_agents.engines.extractive import NAME as EXTRACTIVE
from sovereign_agents.nodes.common import context_of
from sovereign_agents.round_signals import signals_of
from sovereign_agents.schemas import Policy, PolicyDecision
from sovereign_agents.signals import RunSignals
from sovereign_agents.state import ResearchState, active_claims
from sovereign_agents.tracing import emit, traced
from sovereign_agents.wording import count
from sovereign_agents.wording import score as fmt_score


def evidence_gaps(signals: RunSignals, rules: PolicyRules) -> list[str]:
    """What the offline evidence lacks for an approval: the goal cannot be answered as asked,
    or the verified claims do not bear on it, cover it, or give what it asks."""
    gaps = list(signals.goal_flags)
    relevant = len(signals.relevant_verified_ids)
    if relevant < rules.min_relevant_claims:
        gaps.append(
            f"{relevant} verified claim(s) bear on the goal; the rules need "
            f"{rules.min_relevant_claims}"
        )
    if not signals.core_covered:
        gaps.append(
            "no relevant, verified claim is about the goal's core ("
            + ", ".join(signals.core_concepts)
            + ")"
        )
    if signals.goal_coverage < rules.min_goal_coverage:
        gaps.append(
            f"relevant, verified claims cover {signals.goal_coverage:.0%} of the goal's "
            f"concepts (missing: {', '.join(signals.missing_terms)}); the rules need "
            f"{rules.min_goal_coverage:.0%}"
        )
    if rules.require_answer and signals.asks and not signals.answering_ids:
        gaps.append(
            "no relevant, verified claim gives what the goal asks: " + ", ".join(signals.asks)
        )
    return gaps


def decide(
    score: float,
    n_verified: int,
    n_relevant: int,
    context: Context,
    gaps: Sequence[str] = (),
    *,
    n_claims: int | None = None,
    n_papers: int | None = None,
) -> PolicyDecision:
    """The policy by the context's rules; ``gaps`` (offline reviewers only) are what the
    evidence lacks for an approval, each of which sends an approvable run to a human.
    ``n_claims``/``n_papers`` (when known) let a run with no claim at all say so, rather
    than that its claims failed verification."""
    rules = context.policy
    bar = (
        rules.approve_threshold
        if rules.approve_threshold is not None
        else context.tribunal.approve_threshold
    )
    if n_relevant < rules.min_relevant_papers:
        policy, reason = (
            Policy.REJECT,
            (
                f"{count(n_relevant, 'relevant paper')} found; the rules need {rules.min_relevant_papers}"
            ),
        )
    elif n_verified == 0 and n_claims == 0:
        read = f" of the {count(n_papers, 'paper')} read" if n_papers else ""
        policy, reason = (
            Policy.REJECT,
            f"no claim was found: none{read} states a finding on the goal",
        )
    elif n_verified == 0:
        policy, reason = Policy.REJECT, "no claim could be verified against its source"
    elif score >= bar and gaps:
        policy, reason = (
            Policy.HUMAN_REVIEW,
            f"tribunal {score:.2f} >= {bar}, but no model reviewed the draft and the offline "
            "evidence does not show that it answers the goal: " + "; ".join(gaps),
        )
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
    signals = signals_of(state, context)
    offline = any(r.engine == EXTRACTIVE for r in last.reviews)
    gaps = evidence_gaps(signals, context.policy) if offline else list(signals.goal_flags)
    decision = decide(
        last.score,
        n_verified(state),
        signals.n_relevant_papers,
        context,
        gaps,
        n_claims=len(active_claims(state)),
        n_papers=len(state.get("papers", [])),
    )
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
