"""``sovereign bench``: critical path, offline run, search and verify, in one process."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sovereign_agents.cli.common import err, out, reported
from sovereign_agents.errors import InputError


def bench_command(
    corpus: Annotated[
        Path, typer.Option(help="arXiv metadata JSON Lines (Kaggle or daily-listing format)")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    latency: Annotated[
        float, typer.Option(help="seconds the fake model sleeps per call (critical path)")
    ] = 0.2,
    scale: Annotated[int, typer.Option(help="corpus replication for the scaled search")] = 10,
    verify_pairs: Annotated[int, typer.Option(help="(claim, source) pairs to verify")] = 2000,
    queries: Annotated[int, typer.Option(help="search queries at 1x (at most 50)")] = 50,
    repeats: Annotated[int, typer.Option(help="critical-path runs (the median is reported)")] = 3,
    async_only: Annotated[
        bool,
        typer.Option(
            "--async-only",
            help="only the async-host measure: event-loop stalls while graph.ainvoke runs",
        ),
    ] = False,
) -> None:
    """Benchmark the kernel: critical-path ratio, offline run time, search, verification, and
    the event-loop stalls an async host sees."""
    from sovereign_agents.bench import markdown_table, run_bench
    from sovereign_agents.corpus import load_corpus

    with reported():
        if not 0 < latency <= 10:
            raise InputError("--latency must lie in (0, 10] seconds")
        if min(scale, verify_pairs, queries, repeats) < 1:
            raise InputError("--scale, --verify-pairs, --queries and --repeats must be >= 1")
        load_corpus(corpus)  # a clear error before any benchmark starts
        if not as_json:
            err.print(f"benchmarking on {corpus} ...")
        if async_only:
            _async_only(corpus, latency, as_json)
            return
        report = run_bench(
            corpus,
            latency=latency,
            scale=scale,
            verify_pairs=verify_pairs,
            max_queries=queries,
            repeats=repeats,
        )
    if as_json:
        print(report.model_dump_json(indent=2))
    else:
        out.print(markdown_table(report), soft_wrap=True, markup=False)


def _async_only(corpus: Path, latency: float, as_json: bool) -> None:
    from sovereign_agents.bench.async_host import markdown_rows, run_async_bench

    bench = run_async_bench(corpus, latency=latency)
    if as_json:
        print(bench.model_dump_json(indent=2))
        return
    lines = ["| measure | value |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in markdown_rows(bench)]
    out.print("\n".join(lines), soft_wrap=True, markup=False)
