"""LangGraph conventions: the graph embedded in a parent, served by `langgraph dev`, streamed."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from sovereign_agents import Context, build_graph
from tests import HANG_GUARD_S

ROOT = Path(__file__).resolve().parents[1]
GOAL = "How does speculative decoding speed up LLM inference?"


def embed_example() -> Any:
    sys.path.insert(0, str(ROOT))
    try:
        from graphs import embed_example as module
    finally:
        sys.path.remove(str(ROOT))
    return module


def test_parent_graph_embeds_the_research_graph(daily_corpus: Path) -> None:
    parent = embed_example().build_parent(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "embedded"}}
    out = parent.invoke(
        {"question": "How does speculative decoding speed up LLM inference"},
        config,
        context=Context(corpus=str(daily_corpus)),
    )
    assert out["goal"].endswith("?")
    assert out["policy"] in {"AUTO_APPROVE", "HUMAN_REVIEW", "REJECT"}
    assert out["answer"].startswith(out["policy"])
    assert out["report"]["claims"]
    # the parent's checkpointer holds the thread: its history covers the subgraph step
    history = list(parent.get_state_history(config))
    assert len(history) >= 4
    assert not parent.get_state(config, subgraphs=True).next


def test_interrupt_inside_the_subgraph_pauses_the_parent(daily_corpus: Path) -> None:
    from langgraph.graph import START, StateGraph
    from typing_extensions import TypedDict

    class Parent(TypedDict, total=False):
        goal: str
        verdict: str

    research = build_graph(interrupt_before=["draft"], name="research")
    parent = (
        StateGraph(Parent, context_schema=Context)
        .add_node("research", research)
        .add_edge(START, "research")
        .compile(checkpointer=InMemorySaver())
    )
    config: Any = {"configurable": {"thread_id": "paused"}}
    parent.invoke({"goal": GOAL}, config, context=Context(corpus=str(daily_corpus)))
    state = parent.get_state(config, subgraphs=True)
    assert state.next == ("research",)
    assert state.tasks[0].state.next == ("draft",)  # type: ignore[union-attr]
    out = parent.invoke(None, config, context=Context(corpus=str(daily_corpus)))
    assert out["verdict"] in {"APPROVE", "REVISE", "REJECT"}


def test_progress_events_on_the_custom_stream(daily_corpus: Path) -> None:
    graph = build_graph()
    events = [
        chunk
        for chunk in graph.stream(
            {"goal": GOAL}, context=Context(corpus=str(daily_corpus)), stream_mode="custom"
        )
        if chunk.get("event") == "progress"
    ]
    messages = [e["message"] for e in events]
    planned = sum(m.startswith("query: ") for m in messages)
    assert planned >= 2 and sum(m.startswith("query issued") for m in messages) == planned
    assert any("papers found" in m for m in messages)
    assert any("claims verified" in m for m in messages)
    assert {e["node"] for e in events} >= {"plan", "search", "index", "verify", "policy"}
    assert any(e["node"] in {"skeptic", "validator", "synthesizer"} for e in events)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BAD_CONTEXTS: list[tuple[dict[str, Any], list[str]]] = [
    ({"max_papers": "abc"}, ["search.max_papers must be a whole number", "'abc'"]),
    ({"search": {"max_papers": 2.5}}, ["search.max_papers must be a whole number", "2.5"]),
    ({"min_relevance": 3}, ["search.min_relevance must be >= 0 and <= 1", "3"]),
    ({"max_paper": 3}, ["unknown context key 'max_paper'", "did you mean max_papers"]),
    ({"search.max_papers": 3}, ["'search.max_papers' does not reach the graph over HTTP"]),
]


def wait_for_run(base: str, context: dict[str, Any]) -> dict[str, Any]:
    """POST a run to `langgraph dev` and wait for its final state (or its error)."""
    body = {"assistant_id": "sovereign_research", "input": {"goal": GOAL}, "context": context}
    request = urllib.request.Request(
        f"{base}/runs/wait",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=HANG_GUARD_S) as response:
        result: dict[str, Any] = json.loads(response.read())
    return result


@pytest.mark.slow
@pytest.mark.integration
def test_langgraph_dev_serves_the_graph(daily_corpus: Path, tmp_path: Path) -> None:
    cli = shutil.which("langgraph") or str(Path(sys.executable).parent / "langgraph")
    if not Path(cli).exists():
        pytest.skip("langgraph-cli is not installed (the dev extra)")
    port = free_port()
    log = (tmp_path / "langgraph-dev.log").open("w")
    env = {**os.environ, "LANGGRAPH_NO_ANALYTICS": "1", "LANGSMITH_TRACING": "false"}
    server = subprocess.Popen(
        [cli, "dev", "--port", str(port), "--host", "127.0.0.1", "--no-browser", "--no-reload"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (tmp_path / "langgraph-dev.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{base}/ok", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "langgraph dev did not start"
                time.sleep(0.5)
        final = wait_for_run(base, {"corpus": str(daily_corpus), "llm": "extractive"})
        # a bad knob in the run request fails the run with the one line, before any node runs
        for context, says in BAD_CONTEXTS:
            failed = wait_for_run(base, {"corpus": str(daily_corpus), **context})
            assert failed.get("__error__", {}).get("error") == "ContextError", failed
            message = failed["__error__"]["message"]
            assert "\n" not in message and all(part in message for part in says), message
            assert "report" not in failed
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    assert final["verdict"] in {"APPROVE", "REVISE", "REJECT"}
    assert final["policy"] in {"AUTO_APPROVE", "HUMAN_REVIEW", "REJECT"}
    tribunal = final["report"]["tribunal"]
    assert {r["role"] for r in tribunal["reviews"]} == {"skeptic", "validator", "synthesizer"}
    assert final["report"]["claims"]
