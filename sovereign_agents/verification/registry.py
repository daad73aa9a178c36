"""The verifiers by name: ``Context(verifier=...)`` takes one of these names or a ``Verifier``.

A new verifier is one module with a class that satisfies ``base.Verifier`` and one
``register_verifier(name, factory)`` call (or an object passed as ``Context(verifier=obj)``).
A factory gets the run's context and its stance judge (the ``judge`` role's engine when it
judges stance, i.e. a chat model; else None) and returns the verifier; ``resolve`` builds it
once per run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sovereign_agents.errors import ConfigError
from sovereign_agents.verification.base import Verifier

if TYPE_CHECKING:
    from sovereign_agents.context import Context
    from sovereign_agents.verification.judged import StanceJudge

VerifierFactory = Callable[["Context", "StanceJudge | None"], Verifier]


def _tfidf(context: Context, judge: StanceJudge | None) -> Verifier:
    from sovereign_agents.verification.tfidf import TfidfVerifier

    if context.verification.verify_threshold is None:
        return TfidfVerifier(ngram_range=context.verification.ngram_range)
    return TfidfVerifier(
        threshold=context.verification.verify_threshold,
        ngram_range=context.verification.ngram_range,
    )


def _hybrid(context: Context, judge: StanceJudge | None) -> Verifier:
    """The hybrid verifier; with a stance judge (and ``stance_judge`` on), the judge checks
    each claim's stance on top of it."""
    from sovereign_agents.verification.hybrid import HybridVerifier
    from sovereign_agents.verification.judged import JudgedVerifier

    hybrid = HybridVerifier(threshold_override=context.verification.verify_threshold)
    if judge is None or not context.verification.stance_judge:
        return hybrid
    return JudgedVerifier(hybrid, judge)


VERIFIERS: dict[str, VerifierFactory] = {"hybrid": _hybrid, "tfidf": _tfidf}


def register_verifier(name: str, factory: VerifierFactory) -> None:
    """Make ``Context(verifier=name)`` build ``factory(context, judge)``."""
    VERIFIERS[name] = factory


def is_verifier(value: Any) -> bool:
    """Whether ``value`` can be ``Context.verifier``: a registered name or a ``Verifier``
    object. The one check: Context's validator and ``check_verifier`` use it."""
    if isinstance(value, str):
        return value in VERIFIERS
    return isinstance(value, Verifier)


def allowed_verifiers() -> str:
    """What ``Context.verifier`` accepts, for an error message."""
    return f"one of {', '.join(VERIFIERS)} or an object with name, threshold, verify() and record()"


def check_verifier(value: Any) -> None:
    """``ConfigError`` unless ``is_verifier(value)``."""
    if not is_verifier(value):
        raise ConfigError(f"verifier must be {allowed_verifiers()}, not {value!r}")
