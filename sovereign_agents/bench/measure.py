"""Small measuring helpers shared by the benchmarks."""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """``(fn(), seconds)`` by the monotonic performance counter."""
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def per_call_seconds(fn: Callable[[str], object], items: list[str]) -> list[float]:
    """Seconds of ``fn(item)`` for each item, one call at a time (after one warm-up call)."""
    if items:
        fn(items[0])
    out: list[float] = []
    for item in items:
        started = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - started)
    return out


def p50(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MiB (ru_maxrss: KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
