"""extract: claims from one paper (runs once per ``Send``, in parallel)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from sovereign_agents.context import Context
from sovereign_agents.engines import engine_for
from sovereign_agents.nodes.common import context_of
from sovereign_agents.state import ExtractTask
from sovereign_agents.tracing import emit, traced


@traced("extract")
def extract(task: ExtractTask, runtime: Runtime[Context]) -> dict[str, Any]:
    context = context_of(runtime)
    paper = task["paper"]
    result = engine_for("extractor", context).extract(
        task["goal"], paper, context.claims_per_paper, task["round"]
    )
    emit(
        {
            "event": "progress",
            "node": "extract",
            "message": f"{len(result.value)} claims from {paper.id}",
        }
    )
    return {
        "claims": result.value,
        "uncertainties": result.uncertainties,
        "model_calls": result.model_calls,
    }
