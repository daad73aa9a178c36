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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from sovereign_agents import Context, build_graph
from sovereign_agents.errors import SovereignError
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


def wait_for_run(
    base: str,
    context: dict[str, Any],
    run_input: dict[str, Any] | None = None,
    assistant: str = "sovereign_research",
) -> dict[str, Any]:
    """POST a run to `langgraph dev` and wait for its final state (or its error)."""
    body = {"assistant_id": assistant, "input": run_input or {"goal": GOAL}, "context": context}
    request = urllib.request.Request(
        f"{base}/runs/wait",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=HANG_GUARD_S) as response:
        result: dict[str, Any] = json.loads(response.read())
    return result


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`langgraph dev` serving this project's langgraph.json on a loopback port (slow to
    start: one server for the tests below)."""
    cli = shutil.which("langgraph") or str(Path(sys.executable).parent / "langgraph")
    if not Path(cli).exists():
        pytest.skip("langgraph-cli is not installed (the dev extra)")
    port = free_port()
    path = tmp_path_factory.mktemp("dev") / "langgraph-dev.log"
    log = path.open("w")
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
            assert server.poll() is None, path.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{base}/ok", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "langgraph dev did not start"
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.mark.slow
@pytest.mark.integration
def test_langgraph_dev_serves_the_graph(daily_corpus: Path, dev_server: str) -> None:
    final = wait_for_run(dev_server, {"corpus": str(daily_corpus), "llm": "extractive"})
    # a bad knob in the run request fails the run with the one line, before any node runs
    for context, says in BAD_CONTEXTS:
        failed = wait_for_run(dev_server, {"corpus": str(daily_corpus), **context})
        assert failed.get("__error__", {}).get("error") == "ContextError", failed
        message = failed["__error__"]["message"]
        assert "\n" not in message and all(part in message for part in says), message
        assert "report" not in failed
    assert final["verdict"] in {"APPROVE", "REVISE", "REJECT"}
    assert final["policy"] in {"AUTO_APPROVE", "HUMAN_REVIEW", "REJECT"}
    tribunal = final["report"]["tribunal"]
    assert {r["role"] for r in tribunal["reviews"]} == {"skeptic", "validator", "synthesizer"}
    assert final["report"]["claims"]


# Bad input that only a node can judge (the goal's length, an anchor paper the corpus lacks,
# a model spec): the run fails in its first node with the error a Python caller gets.
BAD_RUNS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"goal": "   "}, {}),
    ({"goal": "why " * 600 + "?"}, {}),
    ({"goal": GOAL, "paper": "9999.99999"}, {}),
    ({"goal": GOAL}, {"llm": "nosuch:model"}),
]


def local_error(run_input: dict[str, Any], context: dict[str, Any]) -> SovereignError:
    with pytest.raises(SovereignError) as caught:
        build_graph().invoke(run_input, context=Context(**context))
    return caught.value


@pytest.mark.slow
@pytest.mark.integration
def test_langgraph_dev_sends_our_errors_with_their_message(
    daily_corpus: Path, dev_server: str
) -> None:
    for run_input, knobs in BAD_RUNS:
        context = {"corpus": str(daily_corpus), **knobs}
        expected = local_error(run_input, context)
        failed = wait_for_run(dev_server, context, run_input)
        assert failed["__error__"] == {
            "error": type(expected).__name__,
            "message": str(expected),  # not "An internal error occurred"
        }, failed
    # the host-context example: an unknown preset or knob in ours, a key the host lacks
    question = {"question": "speculative decoding"}
    for context, says in [
        ({"sovereign": "offlin"}, "names an unknown preset 'offlin': use one of offline,"),
        ({"sovereign": {"max_paper": 3}}, "unknown context key 'max_paper'"),
        ({"max_papers": 3}, "unknown context key 'max_papers' of research_assistant"),
    ]:
        failed = wait_for_run(dev_server, context, question, "research_assistant")
        assert failed["__error__"]["error"] == "ContextError", failed
        assert says in failed["__error__"]["message"], failed


@pytest.mark.slow
@pytest.mark.integration
def test_langgraph_dev_runs_the_host_example_with_handed_down_knobs(
    daily_corpus: Path, dev_server: str
) -> None:
    context = {"cited": 1, "sovereign": {"corpus": str(daily_corpus), "max_papers": 3}}
    question = {"question": "How does speculative decoding speed up LLM inference"}
    out = wait_for_run(dev_server, context, question, "research_assistant")
    assert out["report"]["context"]["max_papers"] == 3, out.get("__error__")
    assert out["answer"].startswith(out["policy"])


@pytest.mark.slow
@pytest.mark.integration
def test_langgraph_dev_progress_and_full_state(daily_corpus: Path, dev_server: str) -> None:
    """What README "Served by langgraph dev" promises a client: progress on the custom
    stream, each node's whole update on the tasks stream (updates carries only the output
    schema's keys), and the whole state from the thread."""
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=dev_server)
    thread = client.threads.create()
    events: dict[str, list[Any]] = {}
    for part in client.runs.stream(
        thread["thread_id"],
        "sovereign_research",
        input={"goal": GOAL},
        context={"corpus": str(daily_corpus)},
        stream_mode=["custom", "tasks", "updates"],
    ):
        events.setdefault(part.event, []).append(part.data)
    assert "error" not in events, events.get("error")
    progress = [e for e in events["custom"] if e.get("event") == "progress"]
    assert {e["node"] for e in progress} >= {"plan", "search", "index", "verify", "policy"}
    assert any("claims verified" in e["message"] for e in progress)
    results = {t["name"]: t["result"] for t in events["tasks"] if "result" in t}
    assert set(results) >= {"plan", "search", "index", "extract", "verify", "draft", "report"}
    assert "queries" in results["plan"] and "claims" in results["verify"]
    updates = [u for u in events["updates"] if "__interrupt__" not in u]
    # the server streams updates of the output schema's channels only (null for the rest)
    plan = next(u["plan"] for u in updates if "plan" in u)
    assert set(plan) == {"goal", "run_id"} and "queries" in results["plan"]
    assert {"search": None} in updates and {"extract": None} in updates
    state = client.threads.get_state(thread["thread_id"])
    assert not state["next"]
    values = state["values"]
    assert {"claims", "papers", "queries", "draft", "tribunal"} <= set(values)  # internal
    assert {"verdict", "policy", "report", "report_markdown"} <= set(values)  # the output
    history = client.threads.get_history(thread["thread_id"], limit=100)
    assert len(history) >= 10 and history[0]["checkpoint"] == state["checkpoint"]
