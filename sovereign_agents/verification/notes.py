"""What the run's verifier can and cannot say (the report's Uncertainties), from its record
and the claims' verdicts: no verifier is built to say it."""

from __future__ import annotations

from collections.abc import Sequence

from sovereign_agents.schemas import Claim, Uncertainty
from sovereign_agents.verification.base import VerifierRecord
from sovereign_agents.verification.cues import opposing_claims


def stance_note(by: str, tally: str, record: VerifierRecord) -> str:
    """What one stance judge said, and how far it can be trusted."""
    if by.startswith("judge"):
        return f"Stance checked by an entailment {by} for {tally}; a judge model can be wrong."
    model = record.stance_model
    held = (model.held_out or {}) if model is not None else {}
    measured = (
        f"3-way accuracy {held['accuracy']:.2f} on {held.get('pairs', '?')} held-out SciFact "
        f"pairs, {held.get('contradicted_but_verified', 0):.0%} of contradicted pairs still "
        "called SUPPORT"
        if model is not None and model.name == by and "accuracy" in held
        else "accuracy unmeasured"
    )
    return (
        f"Stance judged offline by the fitted stance model {by} for {tally}. It reads lexical "
        f"cues (negation, direction, antonyms, hedges, numbers), not meaning ({measured}); "
        "a claim is verified only when its evidence is judged SUPPORT."
    )


def verifier_notes(record: VerifierRecord, active: Sequence[Claim]) -> list[Uncertainty]:
    """What the verifier that ran can and cannot say about the ``active`` claims, and claims
    of different papers that look like they oppose each other."""
    notes: list[Uncertainty] = []
    verdicts = [c.verification for c in active if c.verification]
    checked = [v for v in verdicts if v.stance]
    if verdicts and not checked:  # no claim verified: nothing to say about its stance
        notes.append(Uncertainty(kind="weak_signal", message=record.caveat))
    for by in sorted({str(v.stance_by) for v in checked}):
        labels = [str(v.stance) for v in checked if str(v.stance_by) == by]
        counts = {k: labels.count(k) for k in ("SUPPORT", "CONTRADICT", "NOT_ENOUGH_INFO")}
        tally = (
            f"{len(labels)} of {len(verdicts)} claims: {counts['SUPPORT']} SUPPORT, "
            f"{counts['CONTRADICT']} CONTRADICT, {counts['NOT_ENOUGH_INFO']} NOT_ENOUGH_INFO"
        )
        notes.append(Uncertainty(kind="weak_signal", message=stance_note(by, tally, record)))
    for a, b, cues in opposing_claims(list(active)):
        notes.append(
            Uncertainty(
                kind="weak_signal",
                message=(
                    f"Claims {a.id} ({a.paper_id}) and {b.id} ({b.paper_id}) are on the same "
                    f"topic but may oppose each other ({', '.join(cues)} mismatch)."
                ),
            )
        )
    return notes
