"""Claim verification: the ``Verifier`` protocol, the verifiers, and their registry.

* ``base``: ``Verifier`` (name, threshold, verify, record), ``Verdicts``, ``VerifierRecord``.
* ``tfidf``: the reference (TF-IDF cosine); ``hybrid``: evidence sentence + fitted models,
  with the offline ``stance_model``; ``judged``: the hybrid plus a chat model's stance judge.
* ``registry``: the verifiers by name (``Context.verifier``), ``register_verifier``.
* ``resolve``: ``verifier_for(context)`` (built once per run), ``recorded_verifier(state)``.
* ``notes``: what the run's verifier can and cannot say (the report's Uncertainties).
* ``cues``: cheap stance cues and cross-paper claim similarity.

The package itself imports only the protocol and the registry (no engine, no context); each
verifier's module is imported when a run asks for it.
"""

from __future__ import annotations

from sovereign_agents.verification.base import Verdicts, Verifier, VerifierRecord
from sovereign_agents.verification.registry import VERIFIERS, register_verifier

__all__ = [
    "VERIFIERS",
    "Verdicts",
    "Verifier",
    "VerifierRecord",
    "register_verifier",
]
