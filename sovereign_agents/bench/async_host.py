"""Async host: how long does a run inside ``graph.ainvoke`` hold up the host's event loop?

A host coroutine ticks every ``interval`` (5 ms) while the graph runs with ``ainvoke`` on the
same loop; a tick's *lag* is how late it woke (the time the loop could not run it). Reported
as p50 / p99 / max:

* ``model``: ticks due while a model call was in flight (the fake latency model's waits,
  ``LatencyChatModel.windows``): the run's model phases, where the target is p99 < 10 ms;
* ``run``: every tick of the run (including its CPU phases: index, verification).

``cold`` is the first run in a fresh interpreter (a subprocess: the graph imported before the
loop starts, as a host does at start-up; nothing cached on disk or in memory); ``warm`` is a
later run in this process. ``offline`` is the extractive run (no model) warm, whole run.
``wall_sync_s`` / ``wall_async_s``: the same latency-model run through ``invoke`` and
``ainvoke``.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from bisect import bisect_right
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sovereign_agents.bench.critical_path import GOAL
from sovereign_agents.bench.latency_model import LatencyChatModel

INTERVAL_S = 0.005


class Lag(BaseModel):
    """Heartbeat lag in milliseconds over ``ticks`` ticks."""

    ticks: int
    p50_ms: float
    p99_ms: float
    max_ms: float


class HostRun(BaseModel):
    wall_s: float
    model: Lag | None  # ticks due while a model call was in flight
    run: Lag  # every tick of the run
    async_calls: int  # model calls that came through ainvoke / abatch
    calls: int


class AsyncBench(BaseModel):
    interval_ms: float
    latency_s: float
    cold: HostRun
    warm: HostRun
    offline: HostRun
    wall_sync_s: float
    wall_async_s: float


def lag_stats(lags: list[float]) -> Lag:
    if not lags:
        return Lag(ticks=0, p50_ms=0.0, p99_ms=0.0, max_ms=0.0)
    ordered = sorted(lags)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return Lag(
        ticks=len(ordered),
        p50_ms=round(statistics.median(ordered) * 1000, 2),
        p99_ms=round(p99 * 1000, 2),
        max_ms=round(ordered[-1] * 1000, 2),
    )


def in_windows(at: float, windows: list[tuple[float, float]]) -> bool:
    """Whether ``at`` lies inside one of ``windows`` (sorted by start)."""
    i = bisect_right(windows, (at, float("inf")))
    return any(start <= at <= end for start, end in windows[max(0, i - 64) : i])


async def _heartbeat(stop: asyncio.Event, ticks: list[tuple[float, float]]) -> None:
    """Tick every ``INTERVAL_S``; record (when the tick was due, how late it woke)."""
    due = time.perf_counter() + INTERVAL_S
    while not stop.is_set():
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        now = time.perf_counter()
        ticks.append((due, max(0.0, now - due)))
        due = now + INTERVAL_S


async def hosted_run(graph: Any, context: Any, model: LatencyChatModel | None) -> HostRun:
    """One ``ainvoke`` of ``graph`` beside the heartbeat, on the running loop."""
    ticks: list[tuple[float, float]] = []
    stop = asyncio.Event()
    beat = asyncio.create_task(_heartbeat(stop, ticks))
    await asyncio.sleep(INTERVAL_S * 2)  # the heartbeat is running before the graph starts
    started = time.perf_counter()
    await graph.ainvoke({"goal": GOAL}, context=context)
    wall = time.perf_counter() - started
    stop.set()
    await beat
    during = [(due, lag) for due, lag in ticks if started <= due]
    windows = sorted(model.windows) if model is not None else []
    model_lags = [lag for due, lag in during if in_windows(due, windows)]
    return HostRun(
        wall_s=round(wall, 3),
        model=lag_stats(model_lags) if model is not None else None,
        run=lag_stats([lag for _, lag in during]),
        async_calls=model.async_calls if model is not None else 0,
        calls=model.calls if model is not None else 0,
    )


def _context(corpus: str | Path, cache: str, model: Any) -> Any:
    from sovereign_agents.context import Context

    return Context(llm=model, corpus=str(corpus), cache_dir=cache)


def cold_run(corpus: str | Path, latency: float) -> HostRun:
    """The first run of a fresh interpreter, with an empty cache (see the module doc)."""
    code = (
        "import asyncio, sys\n"
        "from sovereign_agents.bench.async_host import _cold_main\n"
        "print(_cold_main(sys.argv[1], float(sys.argv[2])))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(corpus), str(latency)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return HostRun.model_validate_json(done.stdout.strip().splitlines()[-1])


def _cold_main(corpus: str, latency: float) -> str:
    from sovereign_agents.graph import build_graph  # a host imports the graph at start-up

    with tempfile.TemporaryDirectory(prefix="sovereign-bench-cache-") as cache:
        model = LatencyChatModel(latency=latency)
        context = _context(corpus, cache, model)
        run = asyncio.run(hosted_run(build_graph(), context, model))
    return run.model_dump_json()


def run_async_bench(corpus: str | Path, *, latency: float = 0.2) -> AsyncBench:
    """Cold (subprocess), warm and offline heartbeat runs, and the sync vs async wall time."""
    from sovereign_agents.graph import build_graph

    cold = cold_run(corpus, latency)
    graph = build_graph()
    with tempfile.TemporaryDirectory(prefix="sovereign-bench-cache-") as cache:
        graph.invoke({"goal": GOAL}, context=_context(corpus, cache, "extractive"))  # warm-up
        offline = asyncio.run(hosted_run(graph, _context(corpus, cache, "extractive"), None))
        model = LatencyChatModel(latency=latency)
        warm = asyncio.run(hosted_run(graph, _context(corpus, cache, model), model))
        sync_model = LatencyChatModel(latency=latency)
        started = time.perf_counter()
        graph.invoke({"goal": GOAL}, context=_context(corpus, cache, sync_model))
        wall_sync = time.perf_counter() - started
    return AsyncBench(
        interval_ms=INTERVAL_S * 1000,
        latency_s=latency,
        cold=cold,
        warm=warm,
        offline=offline,
        wall_sync_s=round(wall_sync, 3),
        wall_async_s=warm.wall_s,
    )


def markdown_rows(bench: AsyncBench) -> list[tuple[str, str]]:
    """The async bench as (measure, value) rows of ``sovereign bench``'s table."""

    def fmt(lag: Lag | None) -> str:
        if lag is None:
            return "n/a"
        return (
            f"p50 {lag.p50_ms:g} / p99 {lag.p99_ms:g} / max {lag.max_ms:g} ms ({lag.ticks} ticks)"
        )

    rows = []
    for name, run in (("cold", bench.cold), ("warm", bench.warm)):
        rows.append((f"async.{name}.model_phase_lag", fmt(run.model)))
        rows.append(
            (
                f"async.{name}.run_lag",
                f"{fmt(run.run)}; wall {run.wall_s:g} s, {run.async_calls} of {run.calls} "
                "model calls awaited",
            )
        )
    rows.append(
        ("async.offline.run_lag", f"{fmt(bench.offline.run)}; wall {bench.offline.wall_s:g} s")
    )
    rows.append(
        (
            "async.wall_s",
            f"invoke {bench.wall_sync_s:g} s, ainvoke {bench.wall_async_s:g} s "
            f"(latency {bench.latency_s:g} s, heartbeat {bench.interval_ms:g} ms)",
        )
    )
    return rows


def main() -> None:
    """python -m sovereign_agents.bench.async_host CORPUS [LATENCY]: the measure as JSON."""
    result = run_async_bench(sys.argv[1], latency=float(sys.argv[2]) if len(sys.argv) > 2 else 0.2)
    print(json.dumps(result.model_dump(), indent=2))


if __name__ == "__main__":
    main()
