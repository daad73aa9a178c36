"""report: render report.md and report.json from the final state."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from sovereign_agents.context import Context
from sovereign_agents.nodes.common import context_of
from sovereign_agents.report import build_report, render_markdown
from sovereign_agents.round_signals import signals_of
from sovereign_agents.search import search_backend
from sovereign_agents.state import ResearchState
from sovereign_agents.tracing import traced
from sovereign_agents.verification.resolve import recorded_verifier


@traced("report")
def report(state: ResearchState, runtime: Runtime[Context]) -> dict[str, Any]:
    context = context_of(runtime)
    built = build_report(
        state,
        context,
        signals=signals_of(state, context),
        search_description=search_backend(context).describe(),
        verifier=recorded_verifier(state, context),
    )
    return {"report": built.as_json(), "report_markdown": render_markdown(built)}
