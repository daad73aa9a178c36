"""human_review: ask a human about disputed claims before the policy closes the run.

Only with ``review_disputed`` on, and only for claims where the verifier and the reviewers
disagree (a verified claim that a reviewer's medium- or high-severity issue names, or an
unverified claim the draft relies on) or whose confidence lies within ``grey_zone`` of the
threshold. The node pauses the run with LangGraph's ``interrupt()``; the
value it resumes with (``Command(resume={claim_id: "supported" | "rejected"})``) is recorded on
the claims, and the report shows it as the human's verdict.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from sovereign_agents.context import Context
from sovereign_agents.errors import InputError
from sovereign_agents.nodes.common import context_of
from sovereign_agents.schemas import Claim
from sovereign_agents.state import ResearchState, active_claims
from sovereign_agents.tracing import emit, traced
from sovereign_agents.wording import count

VERDICTS = ("supported", "rejected")


def disputed_claims(state: ResearchState, context: Context) -> list[dict[str, Any]]:
    """The claims a human should look at, each with why it is disputed."""
    flagged = flagged_claims(
        (review.role, issue.text, issue.severity, issue.claim_ids)
        for review in state.get("reviews", [])
        for issue in review.issues
    )
    draft = state.get("draft")
    cited = draft.cited_ids if draft is not None else set()
    disputed = []
    for claim in active_claims(state):
        threshold = claim.verification.threshold if claim.verification else None
        reasons = dispute_reasons(
            verified=claim.verified,
            confidence=claim.confidence,
            threshold=threshold,
            flagged=flagged.get(claim.id, []),
            cited=claim.id in cited,
            grey_zone=context.tribunal.grey_zone,
        )
        if reasons:
            disputed.append(
                {
                    "id": claim.id,
                    "text": claim.text,
                    "paper_id": claim.paper_id,
                    "evidence": claim.evidence,
                    "confidence": claim.confidence,
                    "verified": claim.verified,
                    "reasons": reasons,
                }
            )
    return disputed


def flagged_claims(issues: Iterable[tuple[str, str, str, Iterable[str]]]) -> dict[str, list[str]]:
    """Claim id -> "role: issue" for every reviewer issue of medium or high severity that names
    it; ``issues`` as (role, text, severity, claim ids)."""
    flagged: dict[str, list[str]] = {}
    for role, text, severity, claim_ids in issues:
        if severity == "low":  # e.g. single-source: not a doubt about the verdict
            continue
        for claim_id in claim_ids:
            flagged.setdefault(claim_id, []).append(f"{role}: {text}")
    return flagged


def dispute_reasons(
    *,
    verified: bool,
    confidence: float,
    threshold: float | None,
    flagged: list[str],
    cited: bool,
    grey_zone: float,
) -> list[str]:
    """Why one claim is disputed (empty: it is not): the verifier and the reviewers disagree,
    or its confidence lies within ``grey_zone`` of the threshold. The one definition the
    human_review node and report.html share."""
    reasons = []
    if verified:
        reasons += [f"verified, but {r}" for r in flagged]
    if not verified and cited:
        reasons.append("unverified, but the draft relies on it")
    if threshold is not None and abs(confidence - threshold) <= grey_zone:
        reasons.append(
            f"confidence {confidence:.3f} within {grey_zone} of the threshold {threshold}"
        )
    return reasons


def check_verdicts(asked: set[str], verdicts: dict[str, str]) -> None:
    """A human's answer names only claims that were asked about, each supported or rejected."""
    unknown = sorted(set(verdicts) - asked)
    if unknown:
        raise InputError(
            f"no disputed claim with id {', '.join(unknown)}; asked: {', '.join(sorted(asked))}"
        )
    bad = {k: v for k, v in verdicts.items() if v not in VERDICTS}
    if bad:
        raise InputError(f"a verdict is one of {VERDICTS}, not {bad}")


def apply_verdicts(claims: list[Claim], verdicts: dict[str, str]) -> list[Claim]:
    check_verdicts({c.id for c in claims}, verdicts)
    return [
        c.model_copy(update={"human_verdict": verdicts[c.id]}) for c in claims if c.id in verdicts
    ]


@traced("human_review")
def human_review(state: ResearchState, runtime: Runtime[Context]) -> dict[str, Any]:
    context = context_of(runtime)
    if not context.tribunal.review_disputed:
        return {}
    disputed = disputed_claims(state, context)
    if not disputed:
        emit({"event": "progress", "node": "human_review", "message": "no disputed claims"})
        return {}
    emit(
        {
            "event": "progress",
            "node": "human_review",
            "message": f"waiting for a human verdict on {count(len(disputed), 'disputed claim')}",
        }
    )
    answer = interrupt({"kind": "review_disputed", "claims": disputed})
    verdicts = dict(answer or {}) if isinstance(answer, dict) else {}
    ids = {d["id"] for d in disputed}
    claims = [c for c in active_claims(state) if c.id in ids]
    return {"claims": apply_verdicts(claims, verdicts)}
