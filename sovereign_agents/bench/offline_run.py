"""Offline run: a full extractive run on a corpus, cold (nothing cached) and warm.

* ``cold_index_s``: reading the corpus file and building the BM25 index, empty cache;
* ``cold_run_s``: a whole run with an empty cache (BM25 index and corpus LSA built);
* ``wall_s``: the same run with the indexes on disk (what a second ``sovereign run`` does,
  less the interpreter start-up), the process memos cleared first;
* ``peak_traced_mb``: peak of Python-tracked allocations (tracemalloc) during a warm run;
* ``peak_rss_mb``: the process's peak resident memory at the end.
"""

from __future__ import annotations

import tempfile
import tracemalloc
from pathlib import Path

from pydantic import BaseModel

from sovereign_agents.bench.critical_path import GOAL
from sovereign_agents.bench.measure import peak_rss_mb, timed
from sovereign_agents.context import Context
from sovereign_agents.embeddings import clear_memo as clear_lsa_memo
from sovereign_agents.runner import run_research
from sovereign_agents.search.local import clear_memo as clear_index_memo
from sovereign_agents.search.local import open_index


class OfflineRun(BaseModel):
    records: int
    cold_index_s: float
    cold_run_s: float
    wall_s: float
    peak_traced_mb: float
    peak_rss_mb: float
    papers: int
    claims: int
    policy: str


def _forget() -> None:
    clear_index_memo()
    clear_lsa_memo()


def run_offline(corpus: str | Path, *, goal: str = GOAL) -> OfflineRun:
    with tempfile.TemporaryDirectory(prefix="sovereign-bench-") as folder:
        base = Path(folder)
        _forget()
        (index, _), cold_index = timed(lambda: open_index(corpus, str(base / "index-only")))
        cache = str(base / "cache")
        context = Context(llm="extractive", corpus=str(corpus), cache_dir=cache)
        _forget()
        _, cold_run = timed(lambda: run_research(goal, context, base / "cold"))
        _forget()
        result, warm = timed(lambda: run_research(goal, context, base / "warm"))
        _forget()
        host_traces = tracemalloc.is_tracing()  # a host's own tracing is left running
        if host_traces:
            tracemalloc.reset_peak()
        else:
            tracemalloc.start()
        try:
            run_research(goal, context, base / "traced")
            _, traced_peak = tracemalloc.get_traced_memory()
        finally:
            if not host_traces:
                tracemalloc.stop()
        _forget()
    report = result.values.get("report") or {}
    return OfflineRun(
        records=len(index.papers),
        cold_index_s=round(cold_index, 3),
        cold_run_s=round(cold_run, 3),
        wall_s=round(warm, 3),
        peak_traced_mb=round(traced_peak / 2**20, 1),
        peak_rss_mb=round(peak_rss_mb(), 1),
        papers=len(report.get("papers", [])),
        claims=len(report.get("claims", [])),
        policy=str(report.get("policy", "")),
    )
