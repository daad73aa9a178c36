"""Critical path: does a run with a slow model take (stages x latency), or much more?

Every model call sleeps ``latency`` seconds. A sequential model stage is one step of the
graph in which model calls happen: plan, the extract branches of a round, draft, the
reviewers of a round, revise. Branches of one stage (extract per paper, the reviewers)
run in parallel, so the ideal wall time is ``stages x latency``; ``ratio = wall / ideal``.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sovereign_agents.bench.latency_model import LatencyChatModel
from sovereign_agents.context import Context
from sovereign_agents.roles import reviewer_names
from sovereign_agents.runner import run_research

GOAL = "How does mixture of experts improve vision-language models?"


class CriticalPath(BaseModel):
    """The median run of ``repeats`` (by wall time); ``ratios`` lists every run's ratio."""

    latency_s: float
    model_calls: int
    stages: list[str]
    ideal_s: float
    serial_s: float
    wall_s: float
    ratio: float
    revised: bool
    max_concurrency: int | None
    ratios: list[float]


def model_stages(trace: Path) -> list[str]:
    """The sequential model stages of a run, from its trace (records in completion order)."""
    stages: list[str] = []
    reviewers = set(reviewer_names())
    for line in trace.read_text(encoding="utf-8").splitlines():
        record: dict[str, Any] = json.loads(line)
        if not any(c.get("kind") == "chat" for c in record.get("calls", [])):
            continue
        group = "tribunal" if record["node"] in reviewers else str(record["node"])
        if not stages or stages[-1] != group:
            stages.append(group)
    return stages


def run_critical_path(
    corpus: str | Path,
    latency: float,
    *,
    goal: str = GOAL,
    cache: str | None = None,
    max_concurrency: int | None = 64,
    repeats: int = 3,
) -> CriticalPath:
    """Runs of the graph with every role on a model that sleeps ``latency`` per call."""
    with tempfile.TemporaryDirectory(prefix="sovereign-bench-") as folder:
        # warm-up: the corpus's BM25 index and LSA are built or loaded before the clock starts
        run_research(goal, Context(llm="extractive", corpus=str(corpus), cache_dir=cache), folder)
    runs = sorted(
        (_one_run(corpus, latency, goal, cache, max_concurrency) for _ in range(max(1, repeats))),
        key=lambda r: r.wall_s,
    )
    median = runs[len(runs) // 2]
    return median.model_copy(update={"ratios": [r.ratio for r in runs]})


def _one_run(
    corpus: str | Path, latency: float, goal: str, cache: str | None, max_concurrency: int | None
) -> CriticalPath:
    model = LatencyChatModel(latency=latency)
    context = Context(
        llm=model, corpus=str(corpus), cache_dir=cache, max_concurrency=max_concurrency
    )
    with tempfile.TemporaryDirectory(prefix="sovereign-bench-") as folder:
        started = time.perf_counter()
        result = run_research(goal, context, folder)
        wall = time.perf_counter() - started
        stages = model_stages(result.trace)
    ideal = len(stages) * latency
    ratio = round(wall / ideal, 3) if ideal else 0.0
    return CriticalPath(
        latency_s=latency,
        model_calls=model.calls,
        stages=stages,
        ideal_s=round(ideal, 4),
        serial_s=round(model.calls * latency, 4),
        wall_s=round(wall, 4),
        ratio=ratio,
        revised=int(result.values.get("revision_round", 0)) > 0,
        max_concurrency=max_concurrency,
        ratios=[ratio],
    )
