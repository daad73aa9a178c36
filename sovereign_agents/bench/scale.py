"""Scale: the local corpus at N records, from the records we have replicated under new ids.

For each N: a corpus file of N records is generated (the source's records, then copies of
them under new ids, ``r<k>-<id>``, their titles marked `` (r<k>)`` so that no copy is the
same work as its original and the merge keeps them all) into a work folder outside the
repository; then, each in a fresh process measured by ``wait4`` (wall time and peak RSS,
interpreter start-up included):

* ``build``: the BM25 index built cold (empty cache: hashing, streaming, writing the file);
* ``first run``: ``sovereign run`` on it, which also fits the corpus LSA (on a sample);
* ``warm run``: ``sovereign run`` again, everything cached (what a user's next run costs);
* ``search``: ``top(query, 10)`` p50 over the fixed queries in one process, index warm (the
  BM25 index alone), and the graph's search (``LocalCorpusSearch.search``: BM25 and RM3
  candidates through the fitted re-ranker) over the same queries, its first round dropped.

A shared, loaded machine slows all of it: the load average is recorded before and after.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from sovereign_agents.bench.critical_path import GOAL
from sovereign_agents.errors import SovereignError

GENERATED = "scale-corpus-{n}.jsonl"


class Measured(BaseModel):
    wall_s: float
    peak_rss_mb: float
    cpu_s: float = 0.0  # user + system CPU of the process and the workers it waited for


class ScalePoint(BaseModel):
    records: int  # records in the generated file
    papers: int  # papers in the index (records after merging)
    corpus_mb: float
    build: Measured
    index_mb: float
    first_run: Measured | None
    warm_run: Measured | None
    search_p50_ms: float
    search_p95_ms: float
    graph_search_p50_ms: float = 0.0  # the re-ranked search the graph runs
    graph_search_p95_ms: float = 0.0
    load_before: list[float]
    load_after: list[float]


class ScaleBench(BaseModel):
    source: str
    source_records: int
    cpus: int
    points: list[ScalePoint]


def generate(source: Path, n: int, target: Path) -> int:
    """Write ``n`` records to ``target``: the source's records, then copies under new ids
    (``r<k>-<id>``, title `` (r<k>)``). Returns the number written."""
    from sovereign_agents.corpus import parse_record

    templates: list[tuple[str, str]] = []  # (line, original id) of each usable record
    with source.open(encoding="utf-8-sig", errors="replace") as handle:
        for line in handle:
            try:
                record = json.loads(line)
                parse_record(record)
            except (ValueError, TypeError, RecursionError):
                continue
            templates.append((line.rstrip("\n"), str(record["id"])))
    if not templates:
        raise ValueError(f"no usable records in {source}")
    copies: list[str] = []
    for line, _ in templates:
        record = json.loads(line)
        record["id"] = "@@ID@@"
        record["title"] = f"{record['title']} (r@@K@@)"
        copies.append(json.dumps(record, ensure_ascii=False))
    written = 0
    tmp = target.with_name(f".{target.name}.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for line, _ in templates[:n]:
            out.write(line + "\n")
            written += 1
        k = 0
        while written < n:
            k += 1
            for (_, pid), copy in zip(templates, copies, strict=True):
                if written >= n:
                    break
                out.write(copy.replace("@@K@@", str(k)).replace("@@ID@@", f"r{k}-{pid}") + "\n")
                written += 1
    os.replace(tmp, target)
    return written


def _wait4(argv: list[str], env: dict[str, str] | None = None) -> tuple[Measured, str]:
    """Run ``argv`` to its end: wall time, peak RSS of that child alone, CPU time of it and
    of the processes it waited for (``os.wait4``; a loaded machine stretches the wall time,
    hardly the CPU time)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            last = (err.read().strip().splitlines() or ["no output"])[-1][-300:]
            raise SovereignError(f"scale bench: {' '.join(argv[2:4])} failed: {last}")
        peak = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
        cpu = usage.ru_utime + usage.ru_stime
        return Measured(wall_s=round(wall, 2), peak_rss_mb=round(peak, 1), cpu_s=round(cpu, 1)), (
            out.read()
        )


def _probe(*args: str) -> list[str]:
    return [sys.executable, "-m", "sovereign_agents.bench.scale", *args]


def _sovereign(*args: str) -> list[str]:
    return [sys.executable, "-m", "sovereign_agents", *args]


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def measure_point(corpus: Path, records: int, work: Path, *, runs: bool = True) -> ScalePoint:
    cache = work / f"cache-{records}"
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    try:
        load_before = _load()
        build, out = _wait4(_probe("build", str(corpus), str(cache)))
        papers = int(json.loads(out.strip().splitlines()[-1])["papers"])
        index_bytes = sum(p.stat().st_size for p in cache.glob("bm25-*.idx"))
        first = warm = None
        if runs:
            argv = _sovereign(
                "--cache-dir", str(cache), "run", GOAL, "--corpus", str(corpus),
                "--llm", "extractive", "-q", "--force", "--out",
            )  # fmt: skip
            first, _ = _wait4([*argv, str(work / "run-first")])
            warm, _ = _wait4([*argv, str(work / "run-warm")])
        _, out = _wait4(_probe("search", str(corpus), str(cache)))
        search = json.loads(out.strip().splitlines()[-1])
        return ScalePoint(
            records=records,
            papers=papers,
            corpus_mb=round(corpus.stat().st_size / 2**20, 1),
            build=build,
            index_mb=round(index_bytes / 2**20, 1),
            first_run=first,
            warm_run=warm,
            search_p50_ms=search["p50_ms"],
            search_p95_ms=search["p95_ms"],
            graph_search_p50_ms=search["graph_p50_ms"],
            graph_search_p95_ms=search["graph_p95_ms"],
            load_before=load_before,
            load_after=_load(),
        )
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def run_scale_bench(
    source: Path,
    sizes: list[int],
    work: Path,
    *,
    runs: bool = True,
    keep: bool = False,
    on_point: Callable[[ScalePoint], None] | None = None,
) -> ScaleBench:
    """Measure each size in ``sizes`` (records; 0 means the source itself, 1x); ``on_point``
    hears of each as it is measured (the largest take an hour)."""
    from sovereign_agents.corpus import load_corpus

    _, report = load_corpus(source)
    work.mkdir(parents=True, exist_ok=True)
    points = []
    for n in sizes:
        if n == 0:
            points.append(measure_point(source, report.records + report.merged, work, runs=runs))
        else:
            corpus = work / GENERATED.format(n=n)
            generate(source, n, corpus)
            try:
                points.append(measure_point(corpus, n, work, runs=runs))
            finally:
                if not keep:
                    corpus.unlink(missing_ok=True)
        if on_point is not None:
            on_point(points[-1])
    return ScaleBench(
        source=str(source), source_records=report.records, cpus=os.cpu_count() or 1, points=points
    )


def markdown(bench: ScaleBench) -> str:
    rows = [
        "| records | papers | corpus MB | build s | build peak RSS MB | index MB | "
        "first run s / MB | warm run s / MB | search p50 / p95 ms | graph search p50 / p95 ms | "
        "load avg before / after |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in bench.points:
        first = f"{p.first_run.wall_s:g} / {p.first_run.peak_rss_mb:g}" if p.first_run else "n/a"
        warm = f"{p.warm_run.wall_s:g} / {p.warm_run.peak_rss_mb:g}" if p.warm_run else "n/a"
        rows.append(
            f"| {p.records:,} | {p.papers:,} | {p.corpus_mb:g} | {p.build.wall_s:g} | "
            f"{p.build.peak_rss_mb:g} | {p.index_mb:g} | {first} | {warm} | "
            f"{p.search_p50_ms:g} / {p.search_p95_ms:g} | "
            f"{p.graph_search_p50_ms:g} / {p.graph_search_p95_ms:g} | "
            f"{' '.join(map(str, p.load_before))} / {' '.join(map(str, p.load_after))} |"
        )
    return "\n".join(rows)


def main(argv: list[str]) -> None:
    """The measured child processes: ``build CORPUS CACHE`` and ``search CORPUS CACHE``."""
    from sovereign_agents.bench.search import FIXED_QUERIES
    from sovereign_agents.search.local import LocalCorpusSearch, open_index

    what, corpus, cache = argv
    index, _ = open_index(corpus, cache)
    if what == "build":
        print(json.dumps({"papers": len(index.papers)}))
        return
    seconds = []
    forget = getattr(index.papers, "forget", lambda: None)
    for query in FIXED_QUERIES * 5:
        forget()  # every query reads its papers from the corpus file, none kept parsed
        started = time.perf_counter()
        index.top(query, 10)
        seconds.append(time.perf_counter() - started)
    seconds = seconds[len(FIXED_QUERIES) :]  # the first round pages the index in
    graph = LocalCorpusSearch(corpus, cache)
    graph_seconds = []
    for query in FIXED_QUERIES * 3:
        started = time.perf_counter()
        graph.search(query, 10)
        graph_seconds.append(time.perf_counter() - started)
    graph_seconds = graph_seconds[len(FIXED_QUERIES) :]  # the first round analyses candidates
    print(json.dumps({**_percentiles(seconds, ""), **_percentiles(graph_seconds, "graph_")}))


def _percentiles(seconds: list[float], prefix: str) -> dict[str, float]:
    from sovereign_agents.bench.measure import p50

    ordered = sorted(seconds)
    return {
        f"{prefix}p50_ms": round(p50(seconds) * 1000, 2),
        f"{prefix}p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2),
    }


if __name__ == "__main__":
    main(sys.argv[1:])
