"""The run's verifier: built once per run from the context, recorded once in the state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sovereign_agents.per_run import per_run
from sovereign_agents.verification.base import Verifier, VerifierRecord
from sovereign_agents.verification.registry import VERIFIERS, check_verifier

if TYPE_CHECKING:
    from sovereign_agents.context import Context
    from sovereign_agents.verification.judged import StanceJudge

JUDGE_ROLE = "judge"


def stance_judge(context: Context) -> StanceJudge | None:
    """The engine of the run's ``judge`` role when it judges stance (a chat model), else None
    (the extractive engine, or an engine object that does not)."""
    from sovereign_agents.engines import engine_for

    engine = engine_for(JUDGE_ROLE, context)
    if not getattr(engine, "judges_stance", False) or not callable(getattr(engine, "prompt", None)):
        return None
    judge: StanceJudge = engine  # type: ignore[assignment]
    return judge


def build_verifier(context: Context) -> Verifier:
    """A new verifier for ``context`` (its ``verifier`` name or object)."""
    check_verifier(context.verification.verifier)
    if isinstance(context.verification.verifier, str):
        return VERIFIERS[context.verification.verifier](context, stance_judge(context))
    verifier: Verifier = context.verification.verifier
    return verifier


def verifier_for(context: Context) -> Verifier:
    """The run's verifier, built once per run (per context object)."""
    return per_run(context, "verifier", lambda: build_verifier(context))


def recorded_verifier(state: Mapping[str, Any], context: Context) -> VerifierRecord:
    """The record of the run's verifier, as the verify node stored it in the state (a state
    from before that record existed: the context's verifier describes itself)."""
    record = state.get("verifier")
    if record is None:
        return verifier_for(context).record()
    if isinstance(record, VerifierRecord):
        return record
    return VerifierRecord.model_validate(record)
