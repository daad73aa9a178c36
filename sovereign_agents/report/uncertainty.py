"""The report's Uncertainties: what this run recorded going wrong, and the weak signals
measured at its end (what the verifier can and cannot say, claims that may oppose each other,
grey-zone confidences, single-source claims, uncovered concepts, weak papers, failed queries,
reviewers who disagree)."""

from __future__ import annotations

from sovereign_agents.context import Context
from sovereign_agents.engines import is_extractive
from sovereign_agents.roles import reviewer_names
from sovereign_agents.schemas import Uncertainty
from sovereign_agents.signals import RunSignals
from sovereign_agents.state import ResearchState
from sovereign_agents.verification import VerifierRecord
from sovereign_agents.verification.notes import verifier_notes
from sovereign_agents.wording import count, score


def uncertainties(
    state: ResearchState, context: Context, signals: RunSignals, verifier: VerifierRecord
) -> list[Uncertainty]:
    """What this run recorded going wrong, plus the weak signals measured at the end."""
    notes = [
        Uncertainty(kind="config", message=f"Goal: {flag[0].upper()}{flag[1:]}.")
        for flag in signals.goal_flags
    ]
    notes += list(state.get("uncertainties", []))
    offline = ("extractor", *reviewer_names())  # the roles this note speaks of
    if all(is_extractive(context.llm_for(r)) for r in offline):
        notes.append(
            Uncertainty(
                kind="config",
                message=(
                    "No chat model was configured: the extractive engine ran every role. Claims "
                    "are the findings stated in abstract sentences (their discourse frame "
                    "dropped), so verification against the same abstract is close to "
                    "self-similarity; reviewer scores are computed from measured signals (which "
                    "claims bear on the goal's concepts, whether its ask is answered) rather "
                    "than judgement."
                ),
            )
        )
    notes += verifier_notes(verifier, [c for c in state.get("claims", []) if c.active])
    if signals.grey_zone_ids:
        notes.append(
            Uncertainty(
                kind="weak_signal",
                message=(
                    f"{count(len(signals.grey_zone_ids), 'claim')} "
                    f"{'lies' if len(signals.grey_zone_ids) == 1 else 'lie'} within 0.05 of the "
                    f"{signals.threshold} threshold: {', '.join(signals.grey_zone_ids)}"
                ),
            )
        )
    if signals.single_source_ids:
        notes.append(
            Uncertainty(
                kind="weak_signal",
                message=(
                    f"{len(signals.single_source_ids)} of {count(signals.n_claims, 'claim')} "
                    f"{'rests' if len(signals.single_source_ids) == 1 else 'rest'} on a single "
                    "paper that no other retrieved paper echoes."
                ),
            )
        )
    if signals.missing_terms:
        notes.append(
            Uncertainty(
                kind="coverage",
                message=(
                    "No verified claim that bears on the goal covers these of its concepts: "
                    + ", ".join(signals.missing_terms)
                    + "."
                ),
            )
        )
    if signals.asks and not signals.answering_ids:
        notes.append(
            Uncertainty(
                kind="coverage",
                message="The goal asks for "
                + ", ".join(signals.asks)
                + "; no verified claim that bears on the goal reports it.",
            )
        )
    if signals.off_goal_ids:
        notes.append(
            Uncertainty(
                kind="weak_signal",
                message=(
                    f"{len(signals.off_goal_ids)} of {signals.n_claims} claims do not bear on "
                    "the goal (relevance below its threshold); they are listed but are not "
                    "evidence for the answer."
                ),
            )
        )
    weak = signals.n_papers - signals.n_relevant_papers
    if signals.n_papers and weak > 0:
        notes.append(
            Uncertainty(
                kind="coverage",
                message=(
                    f"{count(weak, 'kept paper')} {'is' if weak == 1 else 'are'} only weakly "
                    f"related to the goal (relevance < {context.search.min_relevance})."
                ),
            )
        )
    if not state.get("papers"):
        notes.append(Uncertainty(kind="coverage", message="The search found no relevant paper."))
    failed = [q for q in state.get("query_log", []) if q.error]
    if failed:
        notes.append(
            Uncertainty(
                kind="failure",
                message=(
                    f"{len(failed)} of {count(len(state.get('query_log', [])), 'search query')} "
                    "failed."
                ),
            )
        )
    last = state["tribunal"][-1]
    if last.spread >= 3:
        notes.append(
            Uncertainty(
                kind="weak_signal",
                message=(
                    f"The reviewers disagree: their scores spread over {score(last.spread)} points "
                    "(see Results); the mean hides it."
                ),
            )
        )
    # one line per distinct message, first occurrence first
    seen: dict[str, Uncertainty] = {}
    for note in notes:
        seen.setdefault(note.message, note)
    return list(seen.values())
