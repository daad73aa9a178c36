"""Entry point for LangGraph tooling (`langgraph dev`, Studio, LangGraph Server).

The graph is compiled without a checkpointer: the server brings its own persistence.
``langgraph.json`` names ``make_graph``: the server calls it for every run with the run's
context as sent, so a bad knob (a wrong type, a value out of range, an unknown key) fails
the run with one line before any node runs. The server itself silently drops context keys
that the graph's schema does not list at its top level, so without this check a misspelt
knob, or a dotted one (``search.max_papers``), would be ignored.
"""

from typing import Any

from langgraph.graph.state import CompiledStateGraph
from langgraph_sdk.runtime import ServerRuntime

from sovereign_agents import Context, build_graph
from sovereign_agents.context import FLAT
from sovereign_agents.errors import ContextError

graph = build_graph()
LISTED = set((graph.get_context_jsonschema() or {}).get("properties", {}))


def make_graph(runtime: ServerRuntime) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The research graph, once the run's context (if this call runs one) is valid."""
    execution = runtime.execution_runtime
    context = execution.context if execution is not None else None
    if isinstance(context, dict):
        Context(**context)  # a ContextError naming the knob
        for key in context:
            if key not in LISTED:  # valid, but the server would drop it
                group, _, knob = key.partition(".")
                flat = [name for name, path in FLAT.items() if path == key]
                raise ContextError(
                    f"context key {key!r} does not reach the graph over HTTP: send "
                    f'{{"{group}": {{"{knob}": ...}}}}'
                    + (f" or the flat key {flat[0]!r}" if flat else "")
                )
    return graph
