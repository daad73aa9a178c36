"""Entry point for LangGraph tooling (`langgraph dev`, Studio, LangGraph Server).

The graph is compiled without a checkpointer: the server brings its own persistence.
``langgraph.json`` names ``make_graph``: the server calls it for every run with the run's
context as sent, so a bad knob (a wrong type, a value out of range, an unknown key) fails
the run with one line before any node runs. The server itself silently drops context keys
that the graph's schema does not list, so without this check a misspelt knob would be
ignored.
"""

from typing import Any

from langgraph.graph.state import CompiledStateGraph
from langgraph_sdk.runtime import ServerRuntime

from sovereign_agents import Context, build_graph

graph = build_graph()


def make_graph(runtime: ServerRuntime) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The research graph, once the run's context (if this call runs one) is valid."""
    execution = runtime.execution_runtime
    context = execution.context if execution is not None else None
    if isinstance(context, dict):
        Context(**context)  # a ConfigError naming the knob
    return graph
