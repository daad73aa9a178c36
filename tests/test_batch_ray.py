"""``sovereign batch`` and ``eval sensitivity`` on a real local Ray instance (the ``[ray]``
extra; skipped without it): a worker process killed with SIGKILL mid-run, its goal retried by
Ray and resumed from its last checkpoint to the report an uninterrupted run writes; the
sensitivity conditions fanned out as Ray tasks give the outcomes of the sequential eval.

One Ray instance for the module (two CPUs, no dashboard), shut down after. Ray's processes
talk over this machine's own address (Ray avoids loopback by design); nothing leaves it."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from sovereign_agents import Context
from sovereign_agents.batch import BATCH_JSON, read_goals, run_batch
from sovereign_agents.fanout import USAGE_STATS_ENV
from tests import HANG_GUARD_S
from tests.kill_points import comparable

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# the README's quick-start goal: it revises once, so a run has many steps to kill it between
GOAL = (
    "Does the inference efficiency gain of sparse MoE vision-language models over dense VLMs "
    "on MMMU generalize to MathVista or ChartQA under equal FLOPs?"
)
KILL_AFTER_NODES = 8  # plan, four searches, index and two extractions have finished


@pytest.fixture(scope="module")
def ray_local() -> Iterator[object]:
    ray = pytest.importorskip("ray")
    mp = pytest.MonkeyPatch()
    mp.setenv(USAGE_STATS_ENV, "0")
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False)
    yield ray
    ray.shutdown()
    mp.undo()


def node_lines(trace: Path) -> list[dict[str, object]]:
    if not trace.is_file():
        return []
    records = []
    for line in trace.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:  # the line being written
            break
    return records


def kill_mid_run(folder: Path, killed: list[int], stop: threading.Event) -> None:
    """SIGKILL the worker process that runs in ``folder`` (its pid is in the folder's writer
    lock) once the trace holds ``KILL_AFTER_NODES`` node executions."""
    deadline = time.monotonic() + HANG_GUARD_S
    while not stop.is_set() and time.monotonic() < deadline:
        nodes = [r for r in node_lines(folder / "trace.jsonl") if r.get("event") == "node"]
        if len(nodes) >= KILL_AFTER_NODES:
            pid = int((folder / ".lock").read_text().split()[0])
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            return
        time.sleep(0.005)


def test_a_killed_worker_is_retried_and_its_run_resumes(
    ray_local: object, daily_corpus: Path, tmp_path: Path
) -> None:
    goals = tmp_path / "goals.jsonl"
    goals.write_text(json.dumps({"goal": GOAL}) + "\n", encoding="utf-8")
    context = Context.preset("offline", corpus=str(daily_corpus.resolve()))
    (goal,) = read_goals(goals)

    reference = run_batch(goals, tmp_path / "uninterrupted", context)  # in this process
    assert reference.runs[0].status == "finished"
    expected = tmp_path / "uninterrupted" / goal.run_id

    out = tmp_path / "ray"
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=kill_mid_run, args=(out / goal.run_id, killed, stop))
    killer.start()
    try:
        record = run_batch(goals, out, context, ray="local", max_retries=2)
    finally:
        stop.set()
        killer.join()
    assert killed, "the kill never landed"
    run = record.runs[0]
    assert run.status == "finished", run.error
    assert run.worker_pid not in killed  # Ray ran the goal again, in another process
    assert run.resumed_from_step is not None and run.resumed_from_step >= 2
    assert json.loads((out / BATCH_JSON).read_text())["runs"][0]["status"] == "finished"

    folder = out / goal.run_id
    records = node_lines(folder / "trace.jsonl")
    marks = [i for i, r in enumerate(records) if r.get("event") == "resume"]
    assert len(marks) == 1, "the trace records one resume"
    mark = records[marks[0]]
    assert mark["pid"] == run.worker_pid and mark["step"] == run.resumed_from_step
    before = [r["node"] for r in records[: marks[0]] if r.get("event") == "node"]
    after = [r["node"] for r in records[marks[0] + 1 :] if r.get("event") == "node"]
    assert len(before) >= KILL_AFTER_NODES
    # what had finished before the kill did not run again: fewer nodes than a whole run
    uninterrupted = [r["node"] for r in node_lines(expected / "trace.jsonl")]
    assert len(after) < len(uninterrupted)
    assert before.count("plan") == 1 and "plan" not in after
    ran, whole = Counter(before) + Counter(after), Counter(uninterrupted)
    assert set(ran) == set(whole)
    # only tasks of the step in flight at the kill ran twice; and a task killed after its
    # writes were saved but before its trace line was written is neither redone nor traced
    assert len(set(ran - whole)) <= 1 and len(set(whole - ran)) <= 1
    assert comparable(folder) == comparable(expected)


def test_sensitivity_on_ray_gives_the_sequential_outcomes(
    ray_local: object, daily_corpus: Path, tmp_path: Path
) -> None:
    from sovereign_agents.evals.sensitivity import run_sensitivity
    from sovereign_agents.runner import run_research

    base = tmp_path / "base"
    run_research(
        "How does speculative decoding speed up LLM inference, and what acceptance rates are "
        "reported?",
        Context(corpus=str(daily_corpus.resolve())),
        base,
    )
    kwargs = {
        "variants": ["skeptic@v1", "skeptic@v2"],
        "perturbations": ["shuffle-claims"],
        "repeats": 2,
    }
    sequential = run_sensitivity(base, tmp_path / "seq", **kwargs)  # type: ignore[arg-type]
    on_ray = run_sensitivity(base, tmp_path / "ray", ray="local", **kwargs)  # type: ignore[arg-type]
    assert on_ray == sequential
    results = [
        json.loads((tmp_path / name / "sensitivity.json").read_text())["results"]
        for name in ("seq", "ray")
    ]
    assert results[0] == results[1] and len(results[0]) == 3 * 2
    assert len(list((tmp_path / "ray").glob("fork-checkpoints-*.sqlite"))) == 3


def test_the_cli_on_ray_keeps_stdout_for_the_summary(
    ray_local: object, daily_corpus: Path, tmp_path: Path
) -> None:
    """``sovereign batch --ray local`` (here joining the module's Ray): progress on stderr,
    the summary alone on stdout, a failed goal recorded and the exit code 1."""
    from tests.test_bad_input import sovereign

    goals = tmp_path / "goals.jsonl"
    spec = "How does speculative decoding speed up LLM inference?"
    goals.write_text(
        json.dumps({"goal": spec}) + "\n" + json.dumps({"goal": spec, "paper": "0000.00000"}) + "\n"
    )
    out = tmp_path / "batch"
    args = ("batch", str(goals), "--out", str(out), "--corpus", str(daily_corpus), "--ray", "local")
    proc = sovereign(*args)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("2 goals (1 failed, 1 finished)") and "on ray local" in lines[0]
    assert lines[1].startswith("  line 1: finished ") and "0000.00000" in lines[2]
    assert lines[-1] == f"batch:  {out / BATCH_JSON}" and len(lines) == 4
    assert "finished line 1" in proc.stderr and "failed" in proc.stderr  # the progress
    runs = json.loads((out / BATCH_JSON).read_text())["runs"]
    assert runs[0]["status"] == "finished" and runs[0]["worker_pid"] != os.getpid()
