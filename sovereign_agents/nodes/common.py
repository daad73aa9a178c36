"""What every node uses: the run's context."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from sovereign_agents.context import Context


def context_of(runtime: Runtime[Context] | None) -> Context:
    """The run's context; defaults when the caller passed none."""
    context: Any = getattr(runtime, "context", None)
    if context is None:
        return Context()
    if isinstance(context, dict):
        return Context(**context)
    return context
