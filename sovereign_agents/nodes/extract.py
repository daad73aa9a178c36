"""extract: claims from one paper (runs once per ``Send``, in parallel)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from sovereign_agents.context import Context
from sovereign_agents.engines import engine_for, role_step
from sovereign_agents.engines.extractive import read_anchor
from sovereign_agents.nodes.common import context_of
from sovereign_agents.nodes.dual import dual_node
from sovereign_agents.safety import injection_excerpt, looks_like_injection
from sovereign_agents.schemas import Uncertainty
from sovereign_agents.slots import in_slot
from sovereign_agents.state import ExtractTask
from sovereign_agents.steps import Body
from sovereign_agents.tracing import emit
from sovereign_agents.wording import count


@dual_node("extract")
def extract(task: ExtractTask, runtime: Runtime[Context]) -> Body[dict[str, Any]]:
    context = context_of(runtime)
    paper = task["paper"]
    call = role_step(
        engine_for("extractor", context),
        "extract",
        task["goal"],
        paper,
        context.search.claims_per_paper,
        task["round"],
    )
    result = yield in_slot(call, context)
    if task.get("anchor") and not result.value:
        # the paper the run is about is read whatever its words: its findings lead the report
        result = read_anchor(task["goal"], paper, context.search.claims_per_paper, task["round"])
    # source text is data: a sentence that reads like an order to a model is never a claim
    claims = [
        c
        for c in result.value
        if not (looks_like_injection(c.text) or looks_like_injection(c.evidence))
    ]
    notes = list(result.uncertainties)
    excerpt = injection_excerpt(paper.text)
    if excerpt is not None:
        notes.append(
            Uncertainty(
                kind="injection",
                node="extract",
                message=f"paper {paper.id} contains text that reads like instructions to a "
                f'model ("{excerpt}"); it was treated as data and no claim was taken from it '
                f"({count(len(result.value) - len(claims), 'candidate claim')} dropped)",
            )
        )
    emit(
        {
            "event": "progress",
            "node": "extract",
            "message": f"{count(len(claims), 'claim')} from {paper.id}",
        }
    )
    return {"claims": claims, "uncertainties": notes, "model_calls": result.model_calls}
