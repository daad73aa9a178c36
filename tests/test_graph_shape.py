"""The graph's wiring is a snapshot: a change shows up as a diff in review."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sovereign_agents import build_builder, build_graph

SNAPSHOTS = Path(__file__).parent / "snapshots"


def check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS") or not path.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed; rerun with UPDATE_SNAPSHOTS=1 if intended"


def test_mermaid_drawing_matches_snapshot() -> None:
    drawing = build_graph().get_graph().draw_mermaid(with_styles=False)
    check_snapshot("graph.mmd", drawing)


def test_input_and_output_schemas_match_snapshot() -> None:
    graph = build_graph()
    schemas = {
        "input": graph.get_input_jsonschema(),
        "output": graph.get_output_jsonschema(),
    }
    check_snapshot("schemas.json", json.dumps(schemas, indent=2, sort_keys=True) + "\n")


def test_tribunal_is_three_named_parallel_nodes_joined_once() -> None:
    graph = build_graph().get_graph()
    edges = {(e.source, e.target) for e in graph.edges}
    for role in ("skeptic", "validator", "synthesizer"):
        assert ("draft", role) in edges
        assert (role, "aggregate") in edges
    assert ("aggregate", "revise") in edges and ("aggregate", "human_review") in edges
    assert ("human_review", "policy") in edges
    assert ("revise", "search") in edges  # the revision searches again
    assert ("plan", "search") in edges and ("index", "extract") in edges


def test_builder_compiles_with_langgraph_arguments() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    graph = build_builder().compile(checkpointer=InMemorySaver(), interrupt_before=["draft"])
    assert graph.interrupt_before_nodes == ["draft"]
    assert build_graph(name="custom").name == "custom"


def test_the_typed_input_dict_has_the_input_states_keys() -> None:
    """``InputDict`` (what a type checker sees ``invoke`` take) mirrors ``InputState``
    (what validates it at run time): the same keys, only ``goal`` required."""
    from sovereign_agents.state import InputDict, InputState

    assert set(InputDict.__annotations__) == set(InputState.model_fields)
    hints = InputDict.__annotations__
    optional = {name for name, hint in hints.items() if "NotRequired" in str(hint)}
    assert optional == {
        name for name, field in InputState.model_fields.items() if not field.is_required()
    }
