"""Entry point for LangGraph tooling (`langgraph dev`, Studio, LangGraph Server).

The graph is compiled without a checkpointer: the server brings its own persistence.
"""

from sovereign_agents import build_graph

graph = build_graph()
