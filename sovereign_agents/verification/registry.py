"""The verifiers by name: ``Context(verifier=...)`` takes one of these names or a ``Verifier``.

A new verifier is one module with a class that satisfies ``base.Verifier`` and one
``register_verifier(name, factory)`` call (or an object passed as ``Context(verifier=obj)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sovereign_agents.errors import ConfigError
from sovereign_agents.per_run import per_run
from sovereign_agents.verification.base import Verifier, VerifierRecord

if TYPE_CHECKING:
    from sovereign_agents.context import Context

VerifierFactory = Callable[["Context"], Verifier]


def _tfidf(context: Context) -> Verifier:
    from sovereign_agents.verification.tfidf import TfidfVerifier

    if context.verify_threshold is None:
        return TfidfVerifier(ngram_range=context.ngram_range)
    return TfidfVerifier(threshold=context.verify_threshold, ngram_range=context.ngram_range)


def _hybrid(context: Context) -> Verifier:
    """The hybrid verifier; with a chat model for the ``judge`` role (and ``stance_judge``
    on), the judge checks each claim's stance on top of it."""
    from sovereign_agents.verification.hybrid import HybridVerifier
    from sovereign_agents.verification.judged import JudgedVerifier, stance_judge

    hybrid = HybridVerifier(threshold_override=context.verify_threshold)
    judge = stance_judge(context) if context.stance_judge else None
    return hybrid if judge is None else JudgedVerifier(hybrid, judge)


VERIFIERS: dict[str, VerifierFactory] = {"hybrid": _hybrid, "tfidf": _tfidf}


def register_verifier(name: str, factory: VerifierFactory) -> None:
    """Make ``Context(verifier=name)`` build ``factory(context)``."""
    VERIFIERS[name] = factory


def check_verifier(value: Any) -> None:
    """A ``Context.verifier`` value: a registered name or a ``Verifier`` object."""
    if isinstance(value, str):
        if value not in VERIFIERS:
            raise ConfigError(f"verifier must be one of {tuple(VERIFIERS)}, not {value!r}")
    elif not isinstance(value, Verifier):
        raise ConfigError(
            f"verifier must be a name ({', '.join(VERIFIERS)}) or an object with name, "
            f"threshold, verify() and record(), not {type(value).__name__}"
        )


def build_verifier(context: Context) -> Verifier:
    """A new verifier for ``context`` (its ``verifier`` name or object)."""
    check_verifier(context.verifier)
    if isinstance(context.verifier, str):
        return VERIFIERS[context.verifier](context)
    verifier: Verifier = context.verifier
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
