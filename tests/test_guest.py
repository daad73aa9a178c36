"""A guest in a host's process: no global state changed, caches only where told, a light import.

The host here is the test process: it sets its own BLAS thread count, matplotlib backend,
logging, environment and warnings filters, points HOME at an empty folder, then runs five
research graphs at once in threads (the hybrid verifier included) and draws the eval plots.
Everything it set must read the same afterwards, and nothing may appear under HOME.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import signal
import subprocess
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sovereign_agents import cache

GOAL = "How do mixture-of-experts models reduce inference cost?"


def _files_under(folder: Path) -> list[Path]:
    """Files under ``folder``, except matplotlib's own font cache (``~/.cache/matplotlib``,
    written by matplotlib for any program that draws text, not by us)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and "matplotlib" not in p.parts)


@pytest.fixture
def empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME is an empty folder and no cache location is configured: the library default."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SOVEREIGN_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    cache.use_cli_cache_dir(None)
    return home


def _host_state() -> dict[str, Any]:
    import matplotlib
    import numpy as np
    from threadpoolctl import threadpool_info

    root = logging.getLogger()
    ours = logging.getLogger("sovereign_agents")
    return {
        "blas_threads": [
            (i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"
        ],
        "backend": matplotlib.rcParams._get("backend"),  # the raw value: no backend resolution
        "root_handlers": list(root.handlers),
        "root_level": root.level,
        "our_handlers": list(ours.handlers),
        "our_level": ours.level,
        "environ": dict(os.environ),
        "warning_filters": list(warnings.filters),
        "signals": {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)},
        "numpy_errors": np.geterr(),
        "recursion_limit": sys.getrecursionlimit(),
    }


def _draw_eval_plots(out: Path) -> list[Path]:
    from sovereign_agents.evals.sensitivity import plot_scores
    from sovereign_agents.evals.sensitivity_metrics import Outcome, summarize
    from sovereign_agents.evals.verification import PairResult, VerifyRun, plot_calibration
    from sovereign_agents.evals.verification_metrics import verification_metrics

    outcomes = [
        Outcome(condition=c, repeat=r, score=x, verdict=v, policy="HUMAN_REVIEW", rounds=[x])
        for c, r, x, v in [
            ("v1", 0, 7.0, "APPROVE"),
            ("v1", 1, 6.0, "REVISE"),
            ("v2", 0, 5.0, "REVISE"),
            ("v2", 1, 7.5, "APPROVE"),
        ]
    ]
    plot_scores(out / "sensitivity.png", summarize(outcomes, 6.5), outcomes)
    labels = ["SUPPORT", "CONTRADICT", "SUPPORT", "NOT_ENOUGH_INFO"]
    confidences = [0.9, 0.2, 0.6, 0.4]
    verified = [c >= 0.5 for c in confidences]
    run = VerifyRun(
        verifier="hybrid",
        threshold=0.5,
        description="four pairs",
        metrics=verification_metrics(labels, verified, verified, confidences),
        pairs_per_second=1.0,
        results=[
            PairResult(claim_id=i, doc_id=i, label=lab, verified=v, evidence_found=v, confidence=c)
            for i, (lab, v, c) in enumerate(zip(labels, verified, confidences, strict=True))
        ],
    )
    plot_calibration(run, out / "calibration.png")
    return [out / "sensitivity.png", out / "calibration.png"]


def _spy_on_thread_setters(mp: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every thread-count change made through threadpoolctl (BLAS or OpenMP) while ``mp`` is
    active, recorded (and still made)."""
    import threadpoolctl

    calls: list[tuple[str, int]] = []
    for cls in [threadpoolctl.LibController, *threadpoolctl._ALL_CONTROLLERS]:
        if "set_num_threads" not in vars(cls):
            continue
        real = vars(cls)["set_num_threads"]

        def recording(self: Any, num_threads: int, real: Any = real) -> Any:
            calls.append((type(self).__name__, num_threads))
            return real(self, num_threads)

        mp.setattr(cls, "set_num_threads", recording)
    return calls


@pytest.mark.slow
def test_concurrent_runs_and_plots_leave_the_host_as_it_was(
    empty_home: Path, tmp_path: Path, daily_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matplotlib
    from threadpoolctl import threadpool_info, threadpool_limits

    from sovereign_agents import Context, build_graph, embeddings
    from sovereign_agents.search import local

    pytest.importorskip("matplotlib")
    # the host's own choices, unlike anything a library would pick
    monkeypatch.setitem(matplotlib.rcParams, "backend", "svg")
    import sklearn.feature_extraction.text  # noqa: F401  (loads every BLAS the runs use)

    with threadpool_limits(limits=3, user_api="blas"):
        before = _host_state()
        assert {n for _, n in before["blas_threads"]} == {3}
        local.clear_memo()  # indexes built by earlier tests are built (and cached) again
        embeddings.clear_memo()
        graph = build_graph()
        contexts = [
            Context(corpus=str(daily_corpus), llm="extractive", verifier="hybrid") for _ in range(5)
        ]
        seen: set[int] = set()  # BLAS thread counts observed while the runs go on
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                seen.update(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
                done.wait(0.02)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            with pytest.MonkeyPatch.context() as spy:
                setters = _spy_on_thread_setters(spy)
                with ThreadPoolExecutor(max_workers=5) as pool:
                    outs = list(
                        pool.map(lambda c: graph.invoke({"goal": GOAL}, context=c), contexts)
                    )
                plots = _draw_eval_plots(tmp_path)
        finally:
            done.set()
            watcher.join()
        after = _host_state()
    assert all(o["report_markdown"] for o in outs)
    assert all(o["report"]["claims"] for o in outs)
    assert {o["report"]["verifier"]["name"] for o in outs} == {"hybrid"}
    assert all(p.stat().st_size > 1000 for p in plots)
    assert setters == []  # nobody set a thread count through threadpoolctl, even for a while
    assert seen == {3}
    for key in before:
        assert after[key] == before[key], key
    assert matplotlib.get_backend() == "svg"
    # the caches went to a temporary folder of this process, not under HOME
    assert _files_under(empty_home) == []
    where, why = cache.cache_location()
    assert not where.is_relative_to(empty_home) and "temporary" in why
    assert any(where.glob("bm25-*.idx"))


def test_cache_location_rule(
    empty_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    # nothing set: a temporary folder of this process, never under HOME; said once in the log
    with caplog.at_level(logging.INFO, logger="sovereign_agents.cache"):
        folder = cache.cache_dir()
        cache.cache_dir()
    assert folder.is_dir() and not folder.is_relative_to(empty_home)
    assert folder == cache.cache_dir()
    said = [r.getMessage() for r in caplog.records if str(folder) in r.getMessage()]
    assert len(said) <= 1  # once per folder per process (maybe said by an earlier test)
    # the CLI default applies only when neither the Context nor the environment says
    cache.use_cli_cache_dir(tmp_path / "cli")
    try:
        assert cache.cache_location() == (tmp_path / "cli", "the sovereign CLI's --cache-dir")
        monkeypatch.setenv("SOVEREIGN_CACHE_DIR", str(tmp_path / "env"))
        assert cache.cache_location()[0] == tmp_path / "env"
        assert cache.cache_location(str(tmp_path / "ctx"))[0] == tmp_path / "ctx"
    finally:
        cache.use_cli_cache_dir(None)
    # an explicit --cache-dir wins over the environment (and over a Context whose cache_dir
    # is only the environment's default), not over a Context set to something else
    cache.use_cli_cache_dir(tmp_path / "flag", explicit=True)
    try:
        assert cache.cache_location()[0] == tmp_path / "flag"
        assert cache.cache_location(str(tmp_path / "env"))[0] == tmp_path / "flag"
        assert cache.cache_location(str(tmp_path / "ctx"))[0] == tmp_path / "ctx"
    finally:
        cache.use_cli_cache_dir(None)
    monkeypatch.delenv("SOVEREIGN_CACHE_DIR")
    # the platform default is only the CLI's: under HOME on Linux, XDG_CACHE_HOME respected
    if sys.platform.startswith("linux"):
        assert cache.platform_cache_dir() == empty_home / ".cache" / "sovereign-agents"
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert cache.platform_cache_dir() == tmp_path / "xdg" / "sovereign-agents"


def test_the_cli_caches_where_told_and_leaves_no_default_behind(
    empty_home: Path, tmp_path: Path, kaggle_corpus: Path
) -> None:
    from sovereign_agents.cli import app

    folder = tmp_path / "cli-cache"
    result = CliRunner().invoke(
        app,
        ["--cache-dir", str(folder), "search", "experts", "--corpus", str(kaggle_corpus)],
    )
    assert result.exit_code == 0, result.output
    assert any(folder.glob("bm25-*.idx"))
    assert _files_under(empty_home) == []
    # the in-process caller (a host that called the CLI app) gets its library default back
    assert "temporary" in cache.cache_location()[1]


def test_help_shows_the_cli_cache_default(empty_home: Path) -> None:
    from sovereign_agents.cli import app

    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--cache-dir" in result.output and "sovereign-agents" in result.output
    if sys.platform.startswith("linux"):
        assert "~/.cache/sovereign-agents" in result.output


def test_stop_words_are_scikit_learns() -> None:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from sovereign_agents.stop_words import ENGLISH_STOP_WORDS as ours

    assert ours == ENGLISH_STOP_WORDS


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=300
    )
    return set(done.stdout.split())


@pytest.mark.parametrize(
    "code",
    ["import sovereign_agents", "from sovereign_agents import build_graph, Context"],
)
def test_importing_the_package_imports_no_scikit_learn_or_scipy(code: str) -> None:
    loaded = _modules_after(code)
    heavy = {m for m in loaded if m.split(".")[0] in {"sklearn", "scipy", "matplotlib"}}
    assert heavy == set()
    if code == "import sovereign_agents":  # the names load on first use
        assert "sovereign_agents.graph" not in loaded and "langgraph" not in loaded


def test_the_cli_app_imports_no_graph_for_help() -> None:
    loaded = _modules_after("import sovereign_agents.cli")
    assert {"sovereign_agents.graph", "langgraph", "numpy", "sklearn"} & loaded == set()


def test_version_is_the_package_metadata() -> None:
    import sovereign_agents

    expected = importlib.metadata.version("sovereign-agents")
    assert sovereign_agents.__version__ == expected
    done = subprocess.run(
        [sys.executable, "-m", "sovereign_agents", "--version"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and done.stdout == f"sovereign-agents {expected}\n"


def test_lazy_names_resolve_and_unknown_ones_fail() -> None:
    import sovereign_agents
    from sovereign_agents.context import Context

    assert sovereign_agents.Context is Context
    assert set(sovereign_agents.__all__) <= set(dir(sovereign_agents))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = sovereign_agents.nope  # type: ignore[attr-defined]
