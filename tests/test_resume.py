"""A run survives every interruption: a kill at any checkpoint boundary, a full disk, Ctrl-C
and SIGTERM; time travel into any round; one writer per run folder.

The sweep rebuilds every state a SIGKILL can leave (tests/kill_points.py) from one finished,
revised offline run and resumes each; the subprocess tests stop real runs with real signals.
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from sovereign_agents import Context, checkpointers, runner
from sovereign_agents.errors import InputError
from sovereign_agents.replay import outcome
from sovereign_agents.roles import reviewer_names
from sovereign_agents.run_folder import writer_lock
from sovereign_agents.runner import (
    HistoryEntry,
    fork_run,
    resume_run,
    run_history,
    run_research,
)
from tests import HANG_GUARD_S
from tests.kill_points import comparable, iter_lines, kill_states, rebuild, sweep

# the README's quick-start goal: on the daily listing it revises once, then approves
GOAL = (
    "Does the inference efficiency gain of sparse MoE vision-language models over dense VLMs "
    "on MMMU generalize to MathVista or ChartQA under equal FLOPs?"
)


@pytest.fixture(scope="module")
def finished(daily_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uninterrupted run that revises once: the reference every resumed run must match."""
    run = tmp_path_factory.mktemp("finished") / "run"
    result = run_research(GOAL, Context(corpus=str(daily_corpus)), run)
    assert result.values["revision_round"] == 1 and result.report_json is not None
    return run


def sovereign(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sovereign_agents", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    proc = sovereign(*args)
    stdout, stderr = proc.communicate(timeout=HANG_GUARD_S)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def report_outcome(run_dir: Path) -> dict[str, Any]:
    return outcome(json.loads((run_dir / "report.json").read_text()))


# --- 1. every kill point ------------------------------------------------------------------


@pytest.mark.slow
def test_resume_is_correct_at_every_kill_point(finished: Path, tmp_path: Path) -> None:
    states = kill_states(finished)
    # every checkpoint of both rounds, and the steps with parallel tasks cut after one task
    assert len({s.checkpoint_id for s in states}) == len(run_history(finished)) + 1
    assert sum(s.variant == "first" for s in states) >= 6
    counts, names = sweep(finished, tmp_path, lambda folder: resume_run(folder))
    print("kill-point sweep:", " ".join(iter_lines(counts)))
    assert counts == {"identical": len(states)}, names


def test_a_finished_run_is_not_resumed_and_a_lost_report_is_rewritten(
    finished: Path, tmp_path: Path
) -> None:
    with pytest.raises(InputError, match="has finished"):
        resume_run(finished)
    # killed after the last checkpoint, between report.json and report.md: not finished
    folder = rebuild(finished, kill_states(finished)[-1], tmp_path / "lost")
    (folder / "report.json").write_text("{}")
    with (folder / "trace.jsonl").open("a") as trace:
        trace.write('{"event": "node", "node": "repo')  # a line the kill cut short
    nodes = len((folder / "trace.jsonl").read_text().splitlines()) - 1
    result = resume_run(folder)
    assert result.report_md is not None and comparable(folder) == comparable(finished)
    lines = (folder / "trace.jsonl").read_text().splitlines()
    assert len(lines) == nodes  # no node ran again; the cut line was dropped
    assert all(json.loads(line) for line in lines)


@contextmanager
def failing(target: Any, name: str, on_call: int, error: BaseException) -> Iterator[None]:
    """``target.name`` raises ``error`` on its ``on_call``-th call, as a full disk would."""
    original = getattr(target, name)
    calls = {"n": 0}

    def patched(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == on_call:
            raise error
        return original(*args, **kwargs)

    setattr(target, name, patched)
    try:
        yield
    finally:
        setattr(target, name, original)
    assert calls["n"] >= on_call, f"{name} was never called {on_call} times"


DISK_FULL = [
    ("checkpoint", SqliteSaver, "put", 12, sqlite3.OperationalError("database or disk is full")),
    ("task writes", SqliteSaver, "put_writes", 14, sqlite3.OperationalError("disk I/O error")),
    # write_text writes run.json, then report.json, then report.md
    ("report.json", runner, "write_text", 2, OSError(errno.ENOSPC, "No space left on device")),
    ("report.md", runner, "write_text", 3, OSError(errno.EDQUOT, "Disk quota exceeded")),
]


@pytest.mark.parametrize(("what", "target", "name", "on_call", "error"), DISK_FULL)
def test_disk_full_then_space_freed_then_resume(
    finished: Path,
    daily_corpus: Path,
    tmp_path: Path,
    what: str,
    target: Any,
    name: str,
    on_call: int,
    error: BaseException,
) -> None:
    run = tmp_path / "run"
    run_id = json.loads((finished / "run.json").read_text())["run_id"]
    context = Context(corpus=str(daily_corpus))
    with pytest.raises(type(error)), failing(target, name, on_call, error):
        run_research(GOAL, context, run, run_id=run_id)
    assert not (run / "report.md").exists()
    assert not list(run.glob("*.tmp")), "a failed write left a temporary file"
    resume_run(run)  # space is free again
    assert comparable(run) == comparable(finished), what


def test_disk_full_is_one_line_that_says_how_to_continue(
    daily_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from sovereign_agents.cli import app

    run = tmp_path / "run"
    error = OSError(errno.ENOSPC, "No space left on device")
    with failing(runner, "write_text", 3, error):
        result = CliRunner().invoke(app, ["run", GOAL, "--corpus", str(daily_corpus), "--out", str(run), "-q"])  # fmt: skip
    assert result.exit_code == 1
    assert "disk full" in result.output and f"sovereign resume {run}" in result.output
    assert "Traceback" not in result.output


@pytest.mark.e2e
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.slow
def test_ctrl_c_and_sigterm_stop_at_once_and_resume_finishes(
    finished: Path, daily_corpus: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    run = tmp_path / "run"
    proc = sovereign("run", GOAL, "--corpus", str(daily_corpus), "--out", str(run), "-q")
    trace = run / "trace.jsonl"
    try:
        while not (trace.is_file() and trace.read_text().count("\n") >= 1):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.01)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=HANG_GUARD_S)
    finally:
        proc.kill()
    assert proc.returncode == 128 + sig, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and f"sovereign resume {run}" in lines[0], stderr
    assert not (run / "report.md").exists()
    resumed = run_cli("resume", str(run), "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert report_outcome(run) == report_outcome(finished)


def traced_nodes(run: Path) -> int:
    """Node executions the run's trace holds so far."""
    path = run / "trace.jsonl"
    if not path.is_file():
        return 0
    return sum('"event": "node"' in line for line in path.read_text().splitlines())


@pytest.mark.e2e
@pytest.mark.slow
def test_sigkill_at_random_times_then_resume(
    finished: Path, daily_corpus: Path, tmp_path: Path
) -> None:
    """Real SIGKILLs at random moments of real runs (seeded): each resume reaches the same
    report as the uninterrupted run. A moment is "after the n-th node execution", n drawn
    from the uninterrupted run's trace, so it lands mid-run on a fast or a loaded machine."""
    rng = random.Random(12)
    total = traced_nodes(finished)
    mid_run = 0
    for n in range(3):
        run = tmp_path / f"run{n}"
        after = rng.randint(1, total - 2)
        proc = sovereign("run", GOAL, "--corpus", str(daily_corpus), "--out", str(run), "-q")
        try:
            while traced_nodes(run) < after:
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.005)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=HANG_GUARD_S)
        mid_run += not (run / "report.md").exists()
        resumed = run_cli("resume", str(run), "-q")
        if resumed.returncode != 0:  # the kill came after the report was written
            assert "has finished" in resumed.stderr, resumed.stderr
        assert report_outcome(run) == report_outcome(finished), n
    assert mid_run, "no kill landed before the report"


# --- 2. time travel into any round ---------------------------------------------------------

REVIEWERS = set(reviewer_names())


@contextmanager
def lagging_checkpoint_saves(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Checkpoints saved late (LangGraph saves them in the background while the next steps
    run; a loaded machine makes them lag): any state a checkpoint shares with the running
    graph would be saved as it is steps later."""

    class LaggingSaver(SqliteSaver):
        def put(self, *args: Any, **kwargs: Any) -> Any:
            time.sleep(0.1)
            return super().put(*args, **kwargs)

    @contextmanager
    def checkpointer(path: Path) -> Iterator[SqliteSaver]:
        conn = sqlite3.connect(str(path), check_same_thread=False)
        try:
            yield LaggingSaver(conn, serde=runner.serializer())
        finally:
            conn.close()

    with monkeypatch.context() as patch:
        patch.setattr(checkpointers, "sqlite_checkpointer", checkpointer)  # the one opener's
        yield


@pytest.mark.slow
def test_fork_at_every_checkpoint_of_every_round_finishes_with_a_report(
    daily_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    context = Context(corpus=str(daily_corpus))
    with lagging_checkpoint_saves(monkeypatch):
        first = run_research(GOAL, context, run)
    assert first.values["revision_round"] == 1
    history = run_history(run)
    assert_no_phantom_next(history)
    expected = report_outcome(run)
    for entry in history:
        fork = fork_run(run, entry.checkpoint_id, tmp_path / f"fork{entry.step:+03d}")
        assert not fork.paused and fork.report_json is not None, (entry.step, fork.next)
        assert report_outcome(fork.out_dir) == expected, entry.step
        assert_no_phantom_next(run_history(fork.out_dir))


def assert_no_phantom_next(history: list[HistoryEntry]) -> None:
    """``aggregate`` is next exactly after the three reviewers ran, in either round."""
    for entry in history:
        if entry.ran != ("fork",):
            assert ("aggregate" in entry.next) == (set(entry.ran) == REVIEWERS), entry


def test_edit_the_state_at_a_round_two_checkpoint(daily_corpus: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run_research(GOAL, Context(corpus=str(daily_corpus)), run)
    history = run_history(run)
    after_reviews = [e for e in history if set(e.ran) == {"skeptic", "validator", "synthesizer"}]
    assert len(after_reviews) == 2  # both rounds
    round_two_search = [e for e in history if e.next and set(e.next) == {"index"}][-1]
    for entry in (after_reviews[-1], round_two_search):
        fork = fork_run(
            run,
            entry.checkpoint_id,
            tmp_path / f"edit{entry.step}",
            state_update={"uncertainties": []},
        )
        assert fork.report_json is not None, (entry.step, fork.next)


# --- 6. one writer per run folder ------------------------------------------------------------


@pytest.mark.slow
def test_a_second_writer_is_refused_with_one_line(
    finished: Path, daily_corpus: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    with writer_lock(run):  # another process's run, as far as the CLI can tell
        proc = run_cli("run", GOAL, "--corpus", str(daily_corpus), "--out", str(run), "-q")
        assert proc.returncode != 0
        assert proc.stderr.count("\n") == 1 and "is writing to" in proc.stderr, proc.stderr
        assert f"pid {os.getpid()}" in proc.stderr and "Traceback" not in proc.stderr
        with pytest.raises(InputError, match="is writing to"):
            run_research(GOAL, Context(corpus=str(daily_corpus)), run)
    assert not (run / "run.json").exists()
    busy = tmp_path / "busy"
    shutil.copytree(finished, busy)
    (busy / "report.md").unlink()
    with writer_lock(busy), pytest.raises(InputError, match="is writing to"):
        resume_run(busy)


@pytest.mark.slow
def test_two_concurrent_runs_into_one_folder(daily_corpus: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ("run", GOAL, "--corpus", str(daily_corpus), "--out", str(run), "-q")
    procs = [sovereign(*args), sovereign(*args)]
    results = [p.communicate(timeout=HANG_GUARD_S) for p in procs]
    codes = sorted(p.returncode for p in procs)
    if codes == [0, 0]:  # one finished before the other started: it replaced the first
        assert json.loads((run / "report.json").read_text())["policy"]
    else:
        assert codes[0] == 0 and codes[1] != 0, results
        assert any("is writing to" in stderr for _, stderr in results), results
    records = [json.loads(line) for line in (run / "trace.jsonl").read_text().splitlines()]
    assert len({r["thread_id"] for r in records}) == 1  # one run's lines, not two


def test_a_stale_lock_from_a_killed_process_does_not_block(
    daily_corpus: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    hold = (
        "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
        "fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(600)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, str(run / ".lock")], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(InputError, match="is writing to"):
        run_research(GOAL, Context(corpus=str(daily_corpus)), run)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=HANG_GUARD_S)
    assert (run / ".lock").exists()  # the file stays; the lock died with its process
    assert run_research(GOAL, Context(corpus=str(daily_corpus)), run).report_json is not None


def test_rerun_into_a_finished_folder_starts_fresh(finished: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    context = Context(corpus=json.loads((finished / "run.json").read_text())["context"]["corpus"])
    first = run_research(GOAL, context, run)
    (run / "notes.txt").write_text("mine")
    second = run_research(GOAL, context, run)
    assert second.run_id != first.run_id
    records = [json.loads(line) for line in (run / "trace.jsonl").read_text().splitlines()]
    assert {r["thread_id"] for r in records} == {second.run_id}
    history = run_history(run)
    assert history[0].step == -1 and len(history) == len(run_history(finished))
    assert (run / "notes.txt").read_text() == "mine"  # only the run's own files are replaced


@pytest.mark.slow
def test_an_unfinished_run_is_kept_unless_forced(daily_corpus: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    context = Context(corpus=str(daily_corpus))
    paused = run_research(GOAL, context, run, interrupt_before=["draft"])
    assert paused.paused
    proc = run_cli("run", GOAL, "--corpus", str(daily_corpus), "--out", str(run), "-q")
    assert proc.returncode != 0 and "unfinished run" in proc.stderr
    assert "--force" in proc.stderr and f"sovereign resume {run}" in proc.stderr
    assert run_history(run)[-1].next == ("draft",)  # untouched
    forced = run_cli("run", GOAL, "--corpus", str(daily_corpus), "--out", str(run), "-q", "--force")  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    records = [json.loads(line) for line in (run / "trace.jsonl").read_text().splitlines()]
    assert paused.run_id not in {r["thread_id"] for r in records}
