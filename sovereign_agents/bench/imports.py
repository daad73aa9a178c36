"""Import: wall time of fresh processes that import the package or run the CLI's cheapest
commands, beside ``import langgraph.graph`` started the same way (the yardstick: a host that
embeds the graph imports LangGraph anyway).

Each command runs ``repeats`` times, the commands interleaved round-robin so that a change in
the machine's load touches all of them alike; the median wall time of each is reported.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from pydantic import BaseModel

LANGGRAPH = "import langgraph.graph"
PACKAGE = "import sovereign_agents"
NAMES = "from sovereign_agents import build_graph, Context"
HELP = "sovereign --help"
VERSION = "sovereign --version"
PYTHON = "python -c pass"


class ImportBench(BaseModel):
    repeats: int
    median_s: dict[str, float]  # command -> median wall seconds of a fresh process
    runs_s: dict[str, list[float]]
    package_vs_langgraph: float  # import sovereign_agents / import langgraph.graph
    names_vs_langgraph: float  # from sovereign_agents import build_graph, Context / langgraph


def _cli() -> list[str]:
    """The ``sovereign`` console script beside this interpreter, else ``python -m``."""
    script = Path(sys.executable).parent / "sovereign"
    if script.is_file():
        return [str(script)]
    found = shutil.which("sovereign")
    return [found] if found else [sys.executable, "-m", "sovereign_agents"]


def commands() -> dict[str, list[str]]:
    return {
        PYTHON: [sys.executable, "-c", "pass"],
        LANGGRAPH: [sys.executable, "-c", LANGGRAPH],
        PACKAGE: [sys.executable, "-c", PACKAGE],
        NAMES: [sys.executable, "-c", NAMES],
        HELP: [*_cli(), "--help"],
        VERSION: [*_cli(), "--version"],
    }


def _wall(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def run_import_bench(repeats: int = 5) -> ImportBench:
    todo = commands()
    runs: dict[str, list[float]] = {name: [] for name in todo}
    for _ in range(max(1, repeats)):
        for name, argv in todo.items():
            runs[name].append(round(_wall(argv), 4))
    median = {name: round(statistics.median(values), 4) for name, values in runs.items()}
    base = median[LANGGRAPH] or float("nan")
    return ImportBench(
        repeats=max(1, repeats),
        median_s=median,
        runs_s=runs,
        package_vs_langgraph=round(median[PACKAGE] / base, 3),
        names_vs_langgraph=round(median[NAMES] / base, 3),
    )


def import_table(bench: ImportBench) -> list[tuple[str, str]]:
    rows = [
        (f"import: {name}", f"{seconds:g} s median of {bench.repeats}")
        for name, seconds in bench.median_s.items()
    ]
    rows.append(("import: sovereign_agents / langgraph.graph", f"{bench.package_vs_langgraph:g}"))
    rows.append(("import: build_graph, Context / langgraph.graph", f"{bench.names_vs_langgraph:g}"))
    return rows
