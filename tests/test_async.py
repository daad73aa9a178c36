"""The graph under an async host: ``ainvoke`` / ``astream`` run the same nodes natively async
(the model's ``ainvoke`` awaited on the host's loop), and ``Context.max_concurrency`` bounds
the fan-out under plain ``invoke`` and ``ainvoke`` alike. No timing asserts here: the
event-loop stall numbers live in ``sovereign bench`` (bench/async_host.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sovereign_agents.context import Context
from sovereign_agents.graph import build_graph
from sovereign_agents.schemas import Paper
from sovereign_agents.search.local import LocalCorpusSearch
from sovereign_agents.steps import Body, Step, adrive, drive, offload
from sovereign_agents.testing import role_chat_model

ON_TOPIC = (  # answerable from the daily corpus (as in test_e2e)
    "How does speculative decoding speed up LLM inference, and what acceptance rates are reported?"
)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One cache folder for the module: the corpus index and LSA are built once."""
    return str(tmp_path_factory.mktemp("cache"))


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """A report without what differs between two runs of the same input (ids, clocks)."""
    out = {k: v for k, v in report.items() if k not in {"run_id", "created_at", "date"}}
    out["queries"] = [{k: v for k, v in q.items() if k != "seconds"} for q in out["queries"]]
    return out


def test_ainvoke_of_the_offline_graph_gives_the_same_report(daily_corpus: Path, cache: str) -> None:
    graph = build_graph()
    context = Context(llm="extractive", corpus=str(daily_corpus), cache_dir=cache)
    blocking = graph.invoke({"goal": ON_TOPIC}, context=context)
    awaited = asyncio.run(graph.ainvoke({"goal": ON_TOPIC}, context=context))
    assert blocking["report"]["claims"], "the run found claims to compare"
    assert comparable(awaited["report"]) == comparable(blocking["report"])
    assert (
        awaited["report_markdown"].split("\n", 4)[4]
        == blocking["report_markdown"].split("\n", 4)[4]
    )  # the same text after the title block (which carries the date)


def test_ainvoke_awaits_the_chat_model_and_invoke_calls_it_blocking(
    daily_corpus: Path, cache: str
) -> None:
    graph = build_graph()
    awaited_model = role_chat_model()
    context = Context(llm=awaited_model, corpus=str(daily_corpus), cache_dir=cache)
    awaited = asyncio.run(graph.ainvoke({"goal": ON_TOPIC}, context=context))
    # every role (planner, extractors, stance judge, writer, reviewers) went through ainvoke
    assert awaited_model.calls > 0
    assert awaited_model.async_calls == awaited_model.calls
    assert {r["engine"] for r in awaited["report"]["tribunal"]["reviews"]} == {"LatencyChatModel"}

    blocking_model = role_chat_model()
    context = Context(llm=blocking_model, corpus=str(daily_corpus), cache_dir=cache)
    blocking = graph.invoke({"goal": ON_TOPIC}, context=context)
    assert blocking_model.calls == awaited_model.calls and blocking_model.async_calls == 0
    assert comparable(awaited["report"]) == comparable(blocking["report"])


def test_astream_streams_every_node_and_the_report(daily_corpus: Path, cache: str) -> None:
    graph = build_graph()
    model = role_chat_model()
    context = Context(llm=model, corpus=str(daily_corpus), cache_dir=cache)

    async def collect() -> list[tuple[str, Any]]:
        return [
            chunk
            async for chunk in graph.astream(
                {"goal": ON_TOPIC}, context=context, stream_mode=["custom", "updates", "values"]
            )
        ]

    chunks = asyncio.run(collect())
    traced = {c["node"] for mode, c in chunks if mode == "custom" and c.get("event") == "node"}
    updated = {node for mode, c in chunks if mode == "updates" for node in c}
    nodes = {"plan", "search", "index", "extract", "verify", "draft", "aggregate", "policy"}
    assert nodes | {"skeptic", "validator", "synthesizer", "report"} <= traced
    assert nodes <= updated
    progress = [c for mode, c in chunks if mode == "custom" and c.get("event") == "progress"]
    assert any(p["node"] == "search" for p in progress)
    calls = [
        call
        for mode, c in chunks
        if mode == "custom" and c.get("event") == "node"
        for call in c["calls"]
        if call["kind"] == "chat" and call["response"] is not None
    ]
    assert len(calls) == model.calls == model.async_calls  # each answered call is traced
    final = [c for mode, c in chunks if mode == "values"][-1]
    assert final["report"]["policy"] in {"AUTO_APPROVE", "HUMAN_REVIEW", "REJECT"}


class CountingSearch(LocalCorpusSearch):
    """The local corpus, each search held for a moment and the peak in flight recorded."""

    def __init__(self, corpus: Path, cache: str) -> None:
        super().__init__(corpus, cache)
        self.lock = threading.Lock()
        self.inflight = self.peak = 0

    def search(self, query: str, k: int) -> list[tuple[Paper, float]]:
        with self.lock:
            self.inflight += 1
            self.peak = max(self.peak, self.inflight)
        try:
            time.sleep(0.05)
            return super().search(query, k)
        finally:
            with self.lock:
                self.inflight -= 1


@pytest.mark.parametrize("limit", [1, 2])
@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_max_concurrency_bounds_the_fan_out_without_a_config(
    daily_corpus: Path, cache: str, limit: int, mode: str
) -> None:
    """Only ``context=Context(max_concurrency=N)``: no ``config={"max_concurrency": ...}``."""
    model = role_chat_model(latency=0.05)
    search = CountingSearch(daily_corpus, cache)
    context = Context(
        llm=model,
        search=search,
        corpus=str(daily_corpus),
        cache_dir=cache,
        max_concurrency=limit,
    )
    graph = build_graph()
    if mode == "invoke":
        out = graph.invoke({"goal": ON_TOPIC}, context=context)
    else:
        out = asyncio.run(graph.ainvoke({"goal": ON_TOPIC}, context=context))
    assert len(out["report"]["papers"]) > limit  # a fan-out wider than the limit
    assert model.peak == limit  # reached, never passed
    assert search.peak == limit


def test_without_a_limit_the_fan_out_runs_in_parallel(daily_corpus: Path, cache: str) -> None:
    model = role_chat_model(latency=0.05)
    context = Context(llm=model, corpus=str(daily_corpus), cache_dir=cache, max_concurrency=None)
    asyncio.run(build_graph().ainvoke({"goal": ON_TOPIC}, context=context))
    assert model.peak > 2  # the extract branches (and the judge's calls) overlap


# --- steps: one body, two drivers ----------------------------------------------------------


def body(log: list[str]) -> Body[str]:
    log.append("start")
    try:
        yield Step(lambda: (_ for _ in ()).throw(KeyError("boom")))
    except KeyError:
        log.append("caught")
    doubled = yield offload(lambda x: 2 * x, 21)
    threaded = yield Step(lambda: "sync", None)
    awaited = yield Step(lambda: "blocking", lambda: asyncio.sleep(0, "awaited"))
    return f"{doubled} {threaded} {awaited}"


def test_one_body_runs_blocking_and_awaited() -> None:
    log: list[str] = []
    assert drive(body(log)) == "42 sync blocking"
    assert log == ["start", "caught"]
    log.clear()
    assert asyncio.run(adrive(body(log))) == "42 sync awaited"
    assert log == ["start", "caught"]
    log.clear()
    assert asyncio.run(adrive(body(log), offload=True)) == "42 sync awaited"
    assert log == ["start", "caught"]


def test_a_body_that_returns_at_once_and_one_that_raises() -> None:
    def empty() -> Body[int]:
        return 7
        yield  # a generator all the same

    def failing() -> Body[int]:
        yield offload(int, "12")
        raise ValueError("bad")

    assert drive(empty()) == 7
    assert asyncio.run(adrive(empty(), offload=True)) == 7
    with pytest.raises(ValueError, match="bad"):
        drive(failing())
    with pytest.raises(ValueError, match="bad"):
        asyncio.run(adrive(failing(), offload=True))


@pytest.mark.integration
def test_an_nvidia_model_keeps_its_http_bounds_under_ainvoke(
    fake_nim: Any, daily_corpus: Path, cache: str
) -> None:
    """The NIM client's bounds (body cap, deadline) sit on its ``requests`` session; under
    ``ainvoke`` it is called through that session in a worker thread, not through its own
    unbounded aiohttp one: a huge answer fails on the cap, the planner falls back."""
    fake_nim.hostile = "huge"
    fake_nim.huge_bytes = 5_000_000
    context = Context(
        role_llms={"planner": "nvidia:fake"},
        corpus=str(daily_corpus),
        cache_dir=cache,
        request_deadline_s=5.0,
        model_http_retries=0,
        max_papers=2,
    )

    async def plan_calls() -> list[dict[str, Any]]:
        calls = []
        async for c in build_graph().astream(
            {"goal": ON_TOPIC}, context=context, stream_mode="custom"
        ):
            if c.get("event") == "node" and c["node"] == "plan":
                calls += [call for call in c["calls"] if call["kind"] == "chat"]
        return calls

    calls = asyncio.run(plan_calls())
    assert calls and fake_nim.hostile_hits >= 1
    assert all(c["response"] is None for c in calls)
    assert any("cap" in c["error"] for c in calls), [c["error"] for c in calls]


def test_slots_are_per_live_loop_not_per_loop_id() -> None:
    """A context reused across event loops (a host calling ``asyncio.run`` per request) gets
    a fresh semaphore on each loop, even when a new loop reuses a closed one's id."""
    import weakref

    from sovereign_agents import slots

    context = Context(max_concurrency=2)

    async def semaphore() -> asyncio.Semaphore:
        return slots._loop_slots(context, 2)

    first_loop = asyncio.new_event_loop()
    first = first_loop.run_until_complete(semaphore())
    assert first_loop.run_until_complete(semaphore()) is first  # one per loop
    gone = weakref.ref(first_loop)
    first_loop.close()
    del first_loop
    import gc

    gc.collect()
    assert gone() is None
    by_loop = slots.per_run(context, "slots:loop", dict)
    assert len(by_loop) == 0  # the closed loop's semaphore went with it
    assert asyncio.run(semaphore()) is not first
