"""The run's verifier, chosen from the context: ``tfidf`` (the reference) or ``hybrid`` (the
default), which with a chat model for the ``judge`` role also checks each claim's stance.

Shared by the verify node (which runs it), the draft's signals (its threshold) and the report
(its description).
"""

from __future__ import annotations

from typing import Any

from sovereign_agents.context import Context
from sovereign_agents.engines import is_engine, is_extractive
from sovereign_agents.errors import ConfigError
from sovereign_agents.hybrid import HybridVerifier
from sovereign_agents.verify import TfidfVerifier


def judge_spec(context: Context) -> Any | None:
    """The chat model spec of the stance judge, or None when stance is not checked."""
    spec = context.llm_for("judge")
    if not context.stance_judge or context.verifier != "hybrid":
        return None
    if is_extractive(spec) or is_engine(spec):
        return None
    return spec


def verifier_for(context: Context, with_judge: bool = True) -> Any:
    """The run's verifier (``verify(claims, sources)``, ``threshold``, ``describe()``)."""
    if context.verifier == "tfidf":
        threshold = 0.15 if context.verify_threshold is None else context.verify_threshold
        return TfidfVerifier(threshold=threshold, ngram_range=context.ngram_range)
    if context.verifier == "hybrid":
        hybrid = HybridVerifier(threshold_override=context.verify_threshold)
        spec = judge_spec(context) if with_judge else None
        if spec is None:
            return hybrid
        from sovereign_agents.judge import JudgedVerifier, judge_from_spec

        return JudgedVerifier(hybrid, judge_from_spec(spec, context))
    raise ConfigError(f"unknown verifier {context.verifier!r}")


def verify_threshold(context: Context) -> float:
    return float(verifier_for(context, with_judge=False).threshold)
