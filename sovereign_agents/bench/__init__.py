"""``sovereign bench``: six benchmarks, one module each (``sovereign bench import`` runs the
last one alone, ``--async-only`` the async host's).

* ``critical_path``: a run on a model that sleeps L per call, against stages x L;
* ``offline_run``: a full extractive run, cold and warm, and its memory;
* ``search``: the local BM25 index against rank_bm25 and bm25s, at 1x and 10x the corpus;
* ``verify``: (claim, source) pairs scored per second by the TF-IDF and hybrid verifiers;
* ``async_host``: the event-loop stall an async host sees while ``graph.ainvoke`` runs.
* ``imports``: fresh processes that import the package or print ``--help`` / ``--version``,
  against ``import langgraph.graph``.
"""

from __future__ import annotations

import platform
import tempfile
from pathlib import Path

from pydantic import BaseModel

from sovereign_agents.bench.async_host import AsyncBench, HostRun, run_async_bench
from sovereign_agents.bench.async_host import markdown_rows as async_rows
from sovereign_agents.bench.critical_path import CriticalPath, run_critical_path
from sovereign_agents.bench.imports import HELP, ImportBench, import_table, run_import_bench
from sovereign_agents.bench.offline_run import OfflineRun, run_offline
from sovereign_agents.bench.search import SearchBench, run_search_bench
from sovereign_agents.bench.verify import VerifyBench, run_verify_bench
from sovereign_agents.corpus import load_corpus
from sovereign_agents.wording import count

__all__ = ["BenchReport", "Target", "import_markdown", "markdown_table", "run_bench"]


class Target(BaseModel):
    value: float | None
    target: str
    met: bool | None


class BenchReport(BaseModel):
    corpus: str
    records: int
    python: str
    machine: str
    critical_path: CriticalPath
    offline_run: OfflineRun
    search: SearchBench
    verify: VerifyBench
    async_host: AsyncBench
    imports: ImportBench | None = None
    targets: dict[str, Target]


def _target(value: float | None, limit: float, at_most: bool) -> Target:
    sign = "<=" if at_most else ">="
    met = None if value is None else (value <= limit if at_most else value >= limit)
    return Target(value=value, target=f"{sign} {limit:g}", met=met)


def run_bench(
    corpus: str | Path,
    *,
    latency: float = 0.2,
    scale: int = 10,
    verify_pairs: int = 2000,
    max_queries: int = 50,
    repeats: int = 3,
    import_repeats: int = 5,
) -> BenchReport:
    """Run the benchmarks on ``corpus`` (caches in a temporary folder, removed after)."""
    papers, _ = load_corpus(corpus)
    offline = run_offline(corpus)
    with tempfile.TemporaryDirectory(prefix="sovereign-bench-cache-") as cache:
        critical = run_critical_path(corpus, latency, cache=cache, repeats=repeats)
    search = run_search_bench(papers, scale=scale, max_queries=max_queries)
    verify = run_verify_bench(papers, verify_pairs)
    hosted = run_async_bench(corpus, latency=latency)
    imports = run_import_bench(import_repeats)
    return BenchReport(
        corpus=str(corpus),
        records=len(papers),
        python=platform.python_version(),
        machine=f"{platform.machine()}, {_cpus()} CPU(s)",
        critical_path=critical,
        offline_run=offline,
        search=search,
        verify=verify,
        async_host=hosted,
        imports=imports,
        targets={
            "critical_path.ratio": _target(critical.ratio, 1.25, at_most=True),
            "search.speedup_vs_rank_bm25": _target(search.speedup_vs_rank_bm25, 5, False),
            "search.ratio_vs_bm25s": _target(search.ratio_vs_bm25s, 2, at_most=True),
            "offline_run.wall_s": _target(offline.wall_s, 20, at_most=True),
            "async.warm.model_p99_ms": _target(_p99(hosted.warm), 10, at_most=True),
            "async.cold.model_p99_ms": _target(_p99(hosted.cold), 10, at_most=True),
            **import_targets(imports),
        },
    )


def _p99(run: HostRun) -> float | None:
    return run.model.p99_ms if run.model is not None else None


def import_targets(imports: ImportBench) -> dict[str, Target]:
    return {
        "imports.help_s": _target(imports.median_s[HELP], 1, at_most=True),
        "imports.package_vs_langgraph": _target(imports.package_vs_langgraph, 1.5, at_most=True),
    }


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _fmt(value: float | None, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:g}{unit}"


def markdown_table(report: BenchReport) -> str:
    c, o, s, v = report.critical_path, report.offline_run, report.search, report.verify
    rows: list[tuple[str, str]] = [
        (
            "critical_path.ratio",
            f"{c.ratio:g} (wall {c.wall_s:g} s / ideal {c.ideal_s:g} s = {count(len(c.stages), 'stage')} x "
            f"{c.latency_s:g} s; {count(c.model_calls, 'call')}, serial {c.serial_s:g} s; median of "
            f"ratios {', '.join(f'{r:g}' for r in c.ratios)})",
        ),
        ("critical_path.stages", " > ".join(c.stages)),
        ("offline_run.wall_s", f"{o.wall_s:g} s warm ({count(o.records, 'record')})"),
        ("offline_run.cold_run_s", f"{o.cold_run_s:g} s"),
        ("offline_run.cold_index_s", f"{o.cold_index_s:g} s"),
        ("offline_run.peak_rss_mb", f"{o.peak_rss_mb:g} MiB (tracemalloc {o.peak_traced_mb:g})"),
    ]
    for label, scale in (("1x", s.base), (f"{s.scale}x", s.scaled)):
        if scale is None:
            continue
        rows.append(
            (
                f"search p50 ms, {label} ({scale.documents} docs)",
                f"local {scale.local.p50_ms:g}, rank_bm25 "
                f"{_fmt(scale.rank_bm25.p50_ms if scale.rank_bm25 else None)}, bm25s "
                f"{_fmt(scale.bm25s.p50_ms if scale.bm25s else None)}",
            )
        )
        rows.append(
            (
                f"search speedup vs rank_bm25 / ratio vs bm25s, {label}",
                f"{_fmt(scale.speedup_vs_rank_bm25, 'x')} / {_fmt(scale.ratio_vs_bm25s)}",
            )
        )
    rows.append(
        ("verify.pairs_per_s", f"{v.pairs_per_s:g} ({count(v.pairs, 'pair')} in {v.seconds:g} s)")
    )
    rows.append(
        (
            "verify.hybrid_pairs_per_s",
            f"{v.hybrid_pairs_per_s:g} ({count(v.hybrid_pairs, 'pair')}, calls of 50, in "
            f"{v.hybrid_seconds:g} s)",
        )
    )
    rows += async_rows(report.async_host)
    if report.imports is not None:
        rows += import_table(report.imports)
    return _tables(rows, report.targets)


def _tables(rows: list[tuple[str, str]], targets: dict[str, Target]) -> str:
    lines = ["| measure | value |", "| --- | --- |"]
    lines += [f"| {k} | {val} |" for k, val in rows]
    lines += ["", "| target | value | goal | met |", "| --- | ---: | --- | --- |"]
    for name, t in targets.items():
        met = "n/a" if t.met is None else ("yes" if t.met else "NO")
        lines.append(f"| {name} | {_fmt(t.value)} | {t.target} | {met} |")
    return "\n".join(lines)


def import_markdown(imports: ImportBench) -> str:
    """The table of ``sovereign bench import`` alone."""
    return _tables(import_table(imports), import_targets(imports))
