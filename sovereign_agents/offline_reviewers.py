"""The offline reviewers: each scores a draft 0-10 from the run's measured signals.

Every score rests on the claims that bear on the goal (``relevance.py``) and on whether
what the goal asks is answered; each reviewer names the claims at issue. A reviewer of the
roles registry (``roles.py``) points at its scorer here; the offline engine runs it, and the
chat engine falls back to it when its model fails.
"""

from __future__ import annotations

from sovereign_agents.schemas import Draft, ReviewIssue
from sovereign_agents.signals import RunSignals
from sovereign_agents.wording import count


def _confidence_score(signals: RunSignals) -> float:
    """Mean confidence mapped to [0, 1]: the threshold gives 0.25, 0.45 and above give 1."""
    if signals.n_claims == 0:
        return 0.0
    t = signals.threshold
    return max(0.0, min(1.0, 0.25 + 0.75 * (signals.mean_confidence - t) / max(1e-9, 0.45 - t)))


def _bearing(signals: RunSignals) -> float:
    """How much of the evidence bears on the goal: relevant verified claims, saturating at 5."""
    return min(1.0, len(signals.relevant_verified_ids) / 5)


def _answered(signals: RunSignals) -> float:
    """Is what the goal asks answered: 1 with two answering claims, 0.5 with one."""
    if not signals.asks:
        return 1.0 if signals.relevant_verified_ids else 0.0
    return min(1.0, len(signals.answering_ids) / 2)


def _goal_cap(signals: RunSignals) -> float:
    """A goal that cannot be answered as asked caps every score below the approval bar."""
    return 4.0 if signals.goal_flags else 10.0


def review_skeptic(signals: RunSignals, draft: Draft) -> tuple[float, list[ReviewIssue], str]:
    issues: list[ReviewIssue] = []
    for flag in signals.goal_flags:
        issues.append(ReviewIssue(text=flag, severity="high"))
    if signals.unverified_ids:
        issues.append(
            ReviewIssue(
                text="claims not verified against their source",
                claim_ids=signals.unverified_ids,
                severity="high",
            )
        )
    if signals.grey_zone_ids:
        issues.append(
            ReviewIssue(
                text="confidence close to the threshold: a weak verdict",
                claim_ids=signals.grey_zone_ids,
                severity="medium",
            )
        )
    relevant_single = [i for i in signals.single_source_ids if i in signals.relevant_verified_ids]
    if relevant_single:
        issues.append(
            ReviewIssue(
                text="no other retrieved paper corroborates these claims",
                claim_ids=relevant_single,
                severity="low",
            )
        )
    if signals.off_goal_ids:
        issues.append(
            ReviewIssue(
                text="claims that do not bear on the goal (not evidence for the answer)",
                claim_ids=signals.off_goal_ids,
                severity="low",  # about relevance, not a doubt about the verdict
            )
        )
    if signals.cites_unverified_ids:
        issues.append(
            ReviewIssue(
                text="the draft cites unverified claims",
                claim_ids=signals.cites_unverified_ids,
                severity="high",
            )
        )
    if signals.n_claims == 0:
        return (
            0.0,
            [ReviewIssue(text="no claims to support the draft", severity="high")],
            "nothing was extracted, so nothing in the draft is supported",
        )
    relevant = signals.relevant_verified_ids
    corroborated = 1 - len(relevant_single) / len(relevant) if relevant else 0.0
    on_goal = len(relevant) / signals.n_claims
    score = 10 * (
        0.35 * _bearing(signals)
        + 0.15 * on_goal
        + 0.15 * corroborated
        + 0.1 * _confidence_score(signals)
        + 0.25 * _answered(signals)
    )
    score -= 1.5 * len(signals.cites_unverified_ids)
    rationale = (
        f"{len(relevant)} of {signals.n_claims} claims are verified and bear on the goal, "
        f"{len(signals.answering_ids)} give what it asks; {len(relevant_single)} of the "
        "relevant ones rest on a single paper"
    )
    return min(score, _goal_cap(signals)), issues, rationale


def review_validator(signals: RunSignals, draft: Draft) -> tuple[float, list[ReviewIssue], str]:
    issues: list[ReviewIssue] = []
    low = [cid for cid in signals.grey_zone_ids if cid not in signals.unverified_ids]
    if signals.unverified_ids:
        issues.append(
            ReviewIssue(
                text="confidence below the verification threshold",
                claim_ids=signals.unverified_ids,
                severity="high",
            )
        )
    if low:
        issues.append(
            ReviewIssue(
                text="verified, but barely above the threshold", claim_ids=low, severity="medium"
            )
        )
    if signals.uncited_sentences:
        issues.append(
            ReviewIssue(
                text=f"{count(signals.uncited_sentences, 'draft sentence')} "
                f"{'cites' if signals.uncited_sentences == 1 else 'cite'} no claim",
                severity="low",
            )
        )
    if signals.asks and not signals.answering_ids:
        issues.append(
            ReviewIssue(
                text="no verified claim gives what the goal asks: " + ", ".join(signals.asks),
                severity="high",
            )
        )
    if signals.n_claims == 0:
        return (
            0.0,
            [ReviewIssue(text="no claims were extracted to validate", severity="high")],
            "no evidence to validate",
        )
    cited = (signals.draft_sentences - signals.uncited_sentences) / max(1, signals.draft_sentences)
    score = 10 * (
        0.3 * _bearing(signals)
        + 0.15 * signals.verified_share
        + 0.15 * _confidence_score(signals)
        + 0.1 * cited
        + 0.3 * _answered(signals)
    )
    score -= 1.0 * len(signals.cites_unverified_ids)
    rationale = (
        f"{len(signals.relevant_verified_ids)} relevant verified claim(s), "
        f"{len(signals.answering_ids)} answering the ask; mean confidence "
        f"{signals.mean_confidence:.2f}"
    )
    return min(score, _goal_cap(signals)), issues, rationale


def review_synthesizer(signals: RunSignals, draft: Draft) -> tuple[float, list[ReviewIssue], str]:
    issues: list[ReviewIssue] = []
    if signals.missing_terms:
        issues.append(
            ReviewIssue(
                text="goal concepts no relevant, verified claim covers: "
                + ", ".join(signals.missing_terms),
                severity="high" if not signals.core_covered else "medium",
            )
        )
    relevant_papers = {
        pid for cid, pid in signals.claim_papers.items() if cid in signals.relevant_verified_ids
    }
    if len(signals.relevant_verified_ids) > 1 and len(relevant_papers) < 2:
        issues.append(
            ReviewIssue(text="the relevant claims all come from one paper", severity="medium")
        )
    if signals.n_relevant_papers < 2:
        issues.append(
            ReviewIssue(
                text="fewer than two retrieved papers are relevant to the goal", severity="high"
            )
        )
    breadth = min(1.0, len(relevant_papers) / 3)
    # answering the goal is this role's question: its concepts, what it asks, and its core
    # (claims that are not about the goal's subject answer nothing, however many)
    score = 10 * (0.5 * signals.goal_coverage + 0.3 * _answered(signals) + 0.2 * breadth)
    if not signals.core_covered:
        score *= 0.5
    rationale = (
        f"covers {signals.goal_coverage:.0%} of the goal's concepts with claims that bear on "
        f"it, from {len(relevant_papers)} paper(s); core concept(s) "
        f"{'covered' if signals.core_covered else 'not covered'}; asked quantity "
        f"{'answered' if signals.answering_ids else 'not answered' if signals.asks else 'none'}"
    )
    return min(score, _goal_cap(signals)), issues, rationale
