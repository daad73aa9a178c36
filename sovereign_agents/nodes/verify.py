"""verify: score every active claim against its source, all pairs in one sparse product."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from sovereign_agents.context import Context
from sovereign_agents.nodes.common import context_of
from sovereign_agents.state import ResearchState, active_claims
from sovereign_agents.tracing import emit, traced
from sovereign_agents.verify import TfidfVerifier


def verifier_for(context: Context) -> TfidfVerifier:
    return TfidfVerifier(threshold=context.verify_threshold, ngram_range=context.ngram_range)


@traced("verify")
def verify(state: ResearchState, runtime: Runtime[Context]) -> dict[str, Any]:
    context = context_of(runtime)
    claims = active_claims(state)
    papers = {p.paper.id: p.paper for p in state.get("papers", [])}
    claims = [c for c in claims if c.paper_id in papers]
    verifier = verifier_for(context)
    verdicts = verifier.verify([c.text for c in claims], [papers[c.paper_id].text for c in claims])
    updated = [
        c.model_copy(update={"verification": v}) for c, v in zip(claims, verdicts, strict=True)
    ]
    n_verified = sum(1 for c in updated if c.verified)
    emit(
        {
            "event": "progress",
            "node": "verify",
            "message": f"{n_verified}/{len(updated)} claims verified",
        }
    )
    return {"claims": updated}
