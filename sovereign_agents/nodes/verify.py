"""verify: score every active claim against its source, all pairs in one call.

The verifier comes from the context (``verification.registry``): ``tfidf`` (the reference),
``hybrid`` (the default; with a chat model for the ``judge`` role it also checks each
claim's stance), or a ``Verifier`` object. It is built once per run; its record goes into
the state once (``verifier``), where the later nodes and the report read it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from langgraph.runtime import Runtime

from sovereign_agents.context import Context
from sovereign_agents.nodes.common import context_of
from sovereign_agents.nodes.dual import dual_node
from sovereign_agents.schemas import Paper, Verification
from sovereign_agents.state import ResearchState, active_claims
from sovereign_agents.steps import Body, either
from sovereign_agents.tracing import emit
from sovereign_agents.verification.resolve import verifier_for
from sovereign_agents.wording import count


def pinned(verification: Verification, paper: Paper) -> Verification:
    """The verdict pinned to exactly what it was checked against: paper version, text hash."""
    digest = hashlib.sha256(paper.text.encode("utf-8")).hexdigest()
    return verification.model_copy(update={"source_sha256": digest, "paper_version": paper.version})


@dual_node("verify")
def verify(state: ResearchState, runtime: Runtime[Context]) -> Body[dict[str, Any]]:
    context = context_of(runtime)
    claims = active_claims(state)
    papers = {p.paper.id: p.paper for p in state.get("papers", [])}
    claims = [c for c in claims if c.paper_id in papers]
    verifier = verifier_for(context)
    # under ainvoke: the verifier's own coroutine ``averify`` (the judge's model calls
    # awaited), else its CPU work in a worker thread; the judge's calls are of this round
    from sovereign_agents.models.call_config import in_round, in_round_async  # (lazily)

    round_ = state.get("revision_round", 0)
    averify = getattr(verifier, "averify", None)
    result = yield either(
        in_round(round_, verifier.verify),
        in_round_async(round_, averify) if averify is not None else None,
        [c.text for c in claims],
        [papers[c.paper_id].text for c in claims],
    )
    updated = [
        c.model_copy(update={"verification": pinned(v, papers[c.paper_id])})
        for c, v in zip(claims, result.verdicts, strict=True)
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
    if "verifier" not in state:
        record = verifier.record()
        out["verifier"] = record
        if record.prompts:
            out["prompts"] = list(record.prompts)
    if result.uncertainties:
        out["uncertainties"] = list(result.uncertainties)
    if result.model_calls:
        out["model_calls"] = result.model_calls
    return out
