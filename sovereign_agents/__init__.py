"""sovereign-agents: a LangGraph research kernel.

from sovereign_agents import build_graph, Context
graph = build_graph()
result = graph.invoke({"goal": "..."}, context=Context(corpus="records.jsonl"))
print(result["report_markdown"])
"""

from sovereign_agents.context import Context, PolicyRules
from sovereign_agents.graph import GRAPH_NAME, build_builder, build_graph
from sovereign_agents.schemas import (
    Claim,
    Draft,
    Paper,
    Policy,
    Review,
    TribunalVerdict,
    Verification,
)
from sovereign_agents.state import InputState, OutputState, ResearchState

__all__ = [
    "GRAPH_NAME",
    "Claim",
    "Context",
    "Draft",
    "InputState",
    "OutputState",
    "Paper",
    "Policy",
    "PolicyRules",
    "ResearchState",
    "Review",
    "TribunalVerdict",
    "Verification",
    "build_builder",
    "build_graph",
]
__version__ = "0.1.0"
