"""verify: score every active claim against its source, all pairs in one call.

The verifier comes from the context: ``tfidf`` (the reference) or ``hybrid`` (the default),
which with a chat model for the ``judge`` role also checks each claim's stance.
"""

from __future__ import annotations

import hashlib
from typing import Any

from langgraph.runtime import Runtime

from sovereign_agents.context import Context
from sovereign_agents.engines import is_engine, is_extractive
from sovereign_agents.errors import ConfigError
from sovereign_agents.hybrid import HybridVerifier
from sovereign_agents.nodes.common import context_of
from sovereign_agents.schemas import Paper, Verification
from sovereign_agents.state import ResearchState, active_claims
from sovereign_agents.tracing import emit, traced
from sovereign_agents.verify import TfidfVerifier
from sovereign_agents.wording import count


def judge_spec(context: Context) -> Any | None:
    """The chat model spec of the stance judge, or None when stance is not checked."""
    spec = context.llm_for("judge")
    if not context.verification.stance_judge or context.verification.verifier != "hybrid":
        return None
    if is_extractive(spec) or is_engine(spec):
        return None
    return spec


def verifier_for(context: Context, with_judge: bool = True) -> Any:
    """The run's verifier (``verify(claims, sources)``, ``threshold``, ``describe()``)."""
    if context.verification.verifier == "tfidf":
        threshold = (
            0.15
            if context.verification.verify_threshold is None
            else context.verification.verify_threshold
        )
        return TfidfVerifier(threshold=threshold, ngram_range=context.verification.ngram_range)
    if context.verification.verifier == "hybrid":
        hybrid = HybridVerifier(threshold_override=context.verification.verify_threshold)
        spec = judge_spec(context) if with_judge else None
        if spec is None:
            return hybrid
        from sovereign_agents.judge import JudgedVerifier, judge_from_spec

        return JudgedVerifier(hybrid, judge_from_spec(spec, context))
    raise ConfigError(f"unknown verifier {context.verification.verifier!r}")


def verify_threshold(context: Context) -> float:
    return float(verifier_for(context, with_judge=False).threshold)


def pinned(verification: Verification, paper: Paper) -> Verification:
    """The verdict pinned to exactly what it was checked against: paper version, text hash."""
    digest = hashlib.sha256(paper.text.encode("utf-8")).hexdigest()
    return verification.model_copy(update={"source_sha256": digest, "paper_version": paper.version})


@traced("verify")
def verify(state: ResearchState, runtime: Runtime[Context]) -> dict[str, Any]:
    context = context_of(runtime)
    claims = active_claims(state)
    papers = {p.paper.id: p.paper for p in state.get("papers", [])}
    claims = [c for c in claims if c.paper_id in papers]
    verifier = verifier_for(context)
    verdicts = verifier.verify([c.text for c in claims], [papers[c.paper_id].text for c in claims])
    updated = [
        c.model_copy(update={"verification": pinned(v, papers[c.paper_id])})
        for c, v in zip(claims, verdicts, strict=True)
    ]
    n_verified = sum(1 for c in updated if c.verified)
    emit(
        {
            "event": "progress",
            "node": "verify",
            "message": f"{n_verified} of {count(len(updated), 'claim')} verified",
        }
    )
    out: dict[str, Any] = {"claims": updated}
    judge = getattr(verifier, "judge", None)
    if judge is not None:
        out["uncertainties"] = list(verifier.notes)
        out["model_calls"] = verifier.model_calls
        prompts = state.get("prompts", [])
        if not any(p.get("role") == "judge" for p in prompts):
            out["prompts"] = [judge.prompt.record(judge.name)]
    return out
