"""One goal of a batch, run into its own run folder: the unit a Ray task (or the sequential
loop) executes.

``run_goal`` looks at the goal's folder first:

* a finished run of the same goal, paper and context -> nothing runs (``skipped``);
* an unfinished one (a worker died mid-run, or an earlier batch was killed) -> it is resumed
  from its last checkpoint (``sovereign resume``'s path); a ``resume`` line in ``trace.jsonl``
  records where it continued;
* anything else -> a fresh run (``sovereign run``'s path), replacing what was there.

It never raises for a goal that fails: the outcome says ``failed`` with the error's one line,
so one bad goal does not stop the others.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from sovereign_agents.batch.goals import BatchGoal
from sovereign_agents.context import Context
from sovereign_agents.errors import SovereignError
from sovereign_agents.escaping import one_line
from sovereign_agents.fanout import use_worker_cache_dir
from sovereign_agents.redaction import redact, redact_data
from sovereign_agents.run_folder import is_finished, writer_lock

Status = Literal["pending", "finished", "skipped", "paused", "failed"]
UNCOMPARED = ("cache_dir",)  # where caches live does not change what a run computes


class GoalJob(BaseModel):
    """What a worker needs to run one goal (picklable: sent to Ray workers)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    goal: BatchGoal
    out_dir: str  # the batch folder, absolute
    context: Context
    cache_dir: str | None = None  # the driver's cache folder, for workers in other processes
    checkpointer: str | None = None  # None: each run folder's SQLite file

    def store(self) -> dict[str, Any]:
        """Where the run keeps its checkpoints, as the runner's keyword arguments: nothing for
        the run folder's SQLite file (the default); a database spec otherwise, with a thread
        id of this batch folder (a shared database holds other batches' runs of this goal)."""
        if self.checkpointer is None:
            return {}
        folder = hashlib.sha256(self.out_dir.encode()).hexdigest()[:8]
        return {"checkpointer": self.checkpointer, "thread_id": f"{self.goal.run_id}-{folder}"}


class GoalOutcome(BaseModel):
    """One line of ``batch.json``."""

    line: int
    goal: str
    paper: str | None = None
    run_id: str
    folder: str  # relative to the batch folder
    status: Status = "pending"
    verdict: str | None = None
    policy: str | None = None
    score: float | None = None
    wall_s: float | None = None  # this attempt's time in the worker
    resumed_from_step: int | None = None  # the checkpoint a died run continued from
    worker_pid: int | None = None
    error: str | None = None

    @classmethod
    def pending(cls, goal: BatchGoal) -> GoalOutcome:
        return cls(
            line=goal.line,
            goal=goal.goal,
            paper=goal.paper,
            run_id=goal.run_id,
            folder=goal.run_id,
        )


def run_goal(job: GoalJob) -> GoalOutcome:
    """Run, resume or skip one goal (see the module); never raises for the goal's own failure."""
    started = time.monotonic()
    outcome = GoalOutcome.pending(job.goal)
    outcome.worker_pid = os.getpid()
    use_worker_cache_dir(job.cache_dir)
    folder = Path(job.out_dir) / job.goal.run_id
    try:
        _run(job, folder, outcome)
    except SovereignError as exc:
        outcome.status, outcome.error = "failed", one_line(redact(str(exc)))
    except Exception as exc:  # a bug in one run must not end the batch
        outcome.status = "failed"
        outcome.error = one_line(redact(f"unexpected {type(exc).__name__}: {exc}"))
    outcome.wall_s = round(time.monotonic() - started, 3)
    return outcome


def _run(job: GoalJob, folder: Path, outcome: GoalOutcome) -> None:
    from sovereign_agents.runner import resume_run, run_research

    state = previous_run(folder, job)
    if state == "finished":
        read_finished(folder, outcome)
        outcome.status = "skipped"
        return
    if state == "unfinished":
        outcome.resumed_from_step = mark_resume(folder)
        store = job.store()
        store.pop("thread_id", None)  # run.json names it
        result = resume_run(folder, context=job.context, **store)
    else:
        result = run_research(
            job.goal.goal,
            job.context,
            folder,
            paper=job.goal.paper,
            run_id=job.goal.run_id,
            force=True,  # the goal's own folder: an unfinished run of another setup is replaced
            **job.store(),
        )
    if result.paused:
        outcome.status = "paused"
        return
    values: dict[str, Any] = result.values
    outcome.status = "finished"
    outcome.verdict, outcome.policy = values.get("verdict"), values.get("policy")
    outcome.score = float(values.get("tribunal_score", 0.0))


def previous_run(folder: Path, job: GoalJob) -> Literal["finished", "unfinished", "none"]:
    """What the goal's folder holds: a finished or an unfinished run of this same goal, paper
    and context, or nothing usable (no run, another goal or another setup)."""
    try:
        run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "none"
    same = (
        isinstance(run, dict)
        and run.get("run_id") == job.goal.run_id
        and run.get("goal") == job.goal.goal
        and run.get("paper") == job.goal.paper
        and comparable_context(run.get("context")) == comparable_context(recorded(job.context))
    )
    if not same:
        return "none"
    return "finished" if is_finished(folder) else "unfinished"


def recorded(context: Context) -> Any:
    """The context as run.json records it."""
    return redact_data(json.loads(json.dumps(context.describe(), default=str)))


def comparable_context(context: Any) -> Any:
    if not isinstance(context, dict):
        return context
    return {k: v for k, v in context.items() if k not in UNCOMPARED}


def read_finished(folder: Path, outcome: GoalOutcome) -> None:
    """Verdict, policy and score of a finished run, from its report.json."""
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    outcome.verdict, outcome.policy = report.get("verdict"), report.get("policy")
    score = (report.get("tribunal") or {}).get("score")
    outcome.score = float(score) if isinstance(score, int | float) else None


def mark_resume(folder: Path) -> int | None:
    """Append a ``resume`` record to the run's trace (where it continues, in which process)
    and return the step of the checkpoint it continues from (None: no checkpoint yet)."""
    from sovereign_agents.run_folder import repair_trace
    from sovereign_agents.runner import run_history

    try:
        history = run_history(folder)
    except Exception:  # checkpoints this process cannot list: resume_run says why, or copes
        history = []
    last = history[-1] if history else None
    with writer_lock(folder):  # fails at once if another process still writes there
        trace = folder / "trace.jsonl"
        repair_trace(trace)
        record = {
            "event": "resume",
            "by": "sovereign batch",
            "at": last.checkpoint_id if last else None,
            "step": last.step if last else None,
            "pid": os.getpid(),
        }
        with trace.open("a", encoding="utf-8") as file:
            file.write(json.dumps(record) + "\n")
    return last.step if last else None
