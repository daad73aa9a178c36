"""sovereign-agents: a LangGraph research kernel.

from sovereign_agents import build_graph, Context
graph = build_graph()
result = graph.invoke({"goal": "..."}, context=Context(corpus="records.jsonl"))
print(result["report_markdown"])

The names below are loaded on first use (PEP 562), so ``import sovereign_agents`` costs
almost nothing and a host that only needs, say, ``Context`` does not import the graph.
``__version__`` is the installed package's metadata version (pyproject.toml holds the only
literal).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# each public name -> the module that defines it
_EXPORTS = {
    "GRAPH_NAME": "sovereign_agents.graph",
    "Claim": "sovereign_agents.schemas",
    "Context": "sovereign_agents.context",
    "Draft": "sovereign_agents.schemas",
    "InputState": "sovereign_agents.state",
    "OutputState": "sovereign_agents.state",
    "Paper": "sovereign_agents.schemas",
    "Policy": "sovereign_agents.schemas",
    "PolicyRules": "sovereign_agents.context",
    "ResearchState": "sovereign_agents.state",
    "Review": "sovereign_agents.schemas",
    "TribunalVerdict": "sovereign_agents.schemas",
    "Verification": "sovereign_agents.schemas",
    "build_builder": "sovereign_agents.graph",
    "build_graph": "sovereign_agents.graph",
}

__all__ = [  # defined lazily by __getattr__
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


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from sovereign_agents.version import package_version

        value: Any = package_version()
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    else:
        raise AttributeError(f"module 'sovereign_agents' has no attribute {name!r}")
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
