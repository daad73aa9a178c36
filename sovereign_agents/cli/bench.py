"""``sovereign bench``: critical path, offline run, search and verify, in one process."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from sovereign_agents.cli.common import err, out, reported
from sovereign_agents.errors import InputError


class Measure(StrEnum):
    all = "all"
    imports = "import"
    scale = "scale"


def bench_command(
    measure: Annotated[
        Measure,
        typer.Argument(
            help="all: every benchmark (needs --corpus); import: only the fresh-process import "
            "and CLI start-up times; scale: the local corpus index at N records (--records), "
            "replicated from --corpus"
        ),
    ] = Measure.all,
    corpus: Annotated[
        Path | None, typer.Option(help="arXiv metadata JSON Lines (Kaggle or daily-listing format)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    latency: Annotated[
        float, typer.Option(help="seconds the fake model sleeps per call (critical path)")
    ] = 0.2,
    scale: Annotated[int, typer.Option(help="corpus replication for the scaled search")] = 10,
    verify_pairs: Annotated[int, typer.Option(help="(claim, source) pairs to verify")] = 2000,
    queries: Annotated[int, typer.Option(help="search queries at 1x (at most 50)")] = 50,
    repeats: Annotated[int, typer.Option(help="critical-path runs (the median is reported)")] = 3,
    import_repeats: Annotated[
        int, typer.Option(help="fresh processes per import measure (the median is reported)")
    ] = 5,
    records: Annotated[
        list[int] | None,
        typer.Option(
            help="scale: corpus sizes to measure, repeatable (0: --corpus itself, 1x); "
            "default 0 and 100000"
        ),
    ] = None,
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="scale: where generated corpora and indexes go (default: the cache folder's "
            "bench-scale/); never the repository"
        ),
    ] = None,
    no_runs: Annotated[
        bool, typer.Option("--no-runs", help="scale: skip the `sovereign run` measures")
    ] = False,
    keep: Annotated[
        bool, typer.Option("--keep", help="scale: keep the generated corpora for the next time")
    ] = False,
    async_only: Annotated[
        bool,
        typer.Option(
            "--async-only",
            help="only the async-host measure: event-loop stalls while graph.ainvoke runs",
        ),
    ] = False,
) -> None:
    """Benchmark the kernel: critical-path ratio, offline run time, search, verification,
    the event-loop stalls an async host sees, import and CLI start-up."""
    from sovereign_agents.bench import import_markdown, markdown_table, run_bench
    from sovereign_agents.bench.imports import run_import_bench
    from sovereign_agents.corpus import load_corpus

    with reported():
        if import_repeats < 1:
            raise InputError("--import-repeats must be >= 1")
        if measure is Measure.scale:
            _scale(corpus, records, workdir, no_runs=no_runs, keep=keep, as_json=as_json)
            return
        if measure is Measure.imports:
            if not as_json:
                err.print("timing fresh imports and CLI start-up ...")
            imports = run_import_bench(import_repeats)
        else:
            if corpus is None:
                raise InputError("--corpus PATH is required (or run `sovereign bench import`)")
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
                import_repeats=import_repeats,
            )
    if measure is Measure.imports:
        if as_json:
            print(imports.model_dump_json(indent=2))
        else:
            out.print(import_markdown(imports), soft_wrap=True, markup=False)
        return
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


def _scale(
    corpus: Path | None,
    records: list[int] | None,
    workdir: Path | None,
    *,
    no_runs: bool,
    keep: bool,
    as_json: bool,
) -> None:
    from sovereign_agents.bench.scale import ScalePoint, markdown, run_scale_bench
    from sovereign_agents.cache import cache_location
    from sovereign_agents.corpus import corpus_file

    if corpus is None:
        raise InputError("--corpus PATH is required: the records to replicate")
    corpus_file(corpus)
    sizes = records if records else [0, 100_000]
    if any(n < 0 for n in sizes):
        raise InputError("--records must be >= 0 (0: the corpus itself)")
    work = workdir or cache_location()[0] / "bench-scale"
    if not as_json:
        err.print(f"scale bench in {work}: sizes {', '.join(map(str, sizes))} ...")

    def progress(point: ScalePoint) -> None:
        err.print(
            f"measured {point.records:,} records: {point.model_dump_json()}",
            markup=False,
            soft_wrap=True,
        )

    bench = run_scale_bench(corpus, sizes, work, runs=not no_runs, keep=keep, on_point=progress)
    if as_json:
        print(bench.model_dump_json(indent=2))
    else:
        out.print(markdown(bench), soft_wrap=True, markup=False)
