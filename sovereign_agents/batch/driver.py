"""``run_batch``: every goal of a GOALS.jsonl into its own run folder under one batch folder,
with ``batch.json`` kept up to date as the goals finish.

The batch folder holds one run folder per goal (named by the goal's run id; the same files
``sovereign run`` writes) and ``batch.json``: the goals file, where the runs ran, the context,
and one entry per goal (line, goal, run id, folder, status, verdict, policy, score, wall
time, the step a resumed run continued from, the error of a failed one). It is rewritten
atomically at the start and after every goal, so a batch that is killed keeps what finished;
running the batch again over the same folder skips the goals already finished (same goal,
paper and context) and resumes the unfinished ones.

Goals run through ``fanout.fan_out``: as Ray tasks (``ray="local"`` or a cluster address; a
task whose worker dies is retried and resumes from its checkpoints) or, without ``ray``, one
after another in this process.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sovereign_agents.batch.goals import read_goals
from sovereign_agents.batch.task import (
    GoalJob,
    GoalOutcome,
    previous_run,
    read_finished,
    recorded,
    run_goal,
)
from sovereign_agents.context import Context
from sovereign_agents.errors import SovereignError
from sovereign_agents.escaping import one_line
from sovereign_agents.fanout import LOCAL, MAX_RETRIES, fan_out, ray_session, worker_cache_dir
from sovereign_agents.redaction import redact
from sovereign_agents.run_folder import writer_lock

BATCH_JSON = "batch.json"
OutcomeFn = Callable[[GoalOutcome], None]


class BatchRecord(BaseModel):
    """``batch.json``."""

    goals_file: str
    engine: str  # "sequential", "ray local (N CPUs)" or "ray <address>"
    context: dict[str, Any]
    started_at: str
    updated_at: str
    wall_s: float = 0.0
    counts: dict[str, int] = {}
    runs: list[GoalOutcome]

    @property
    def failed(self) -> list[GoalOutcome]:
        return [r for r in self.runs if r.status in ("failed", "pending")]


def engine_name(ray: str | None, workers: int | None) -> str:
    if ray is None:
        return "sequential"
    if ray == LOCAL:
        return f"ray local ({workers} CPUs)" if workers else "ray local"
    return f"ray {ray}"


def run_batch(
    goals_file: str | Path,
    out_dir: str | Path,
    context: Context,
    *,
    ray: str | None = None,
    workers: int | None = None,
    max_retries: int = MAX_RETRIES,
    checkpointer: str | None = None,
    on_start: Callable[[BatchRecord], None] | None = None,
    on_result: OutcomeFn | None = None,
) -> BatchRecord:
    """Run every goal of ``goals_file`` into ``out_dir`` (see the module); the record written
    to ``out_dir/batch.json``. Bad goals file: ``InputError`` naming the line, before anything
    runs. ``out_dir`` is held by this batch alone while it runs. ``checkpointer``: None
    for each run folder's SQLite file, else a spec the runner opens."""
    goals = read_goals(Path(goals_file))
    out = Path(out_dir).resolve()
    started = time.monotonic()
    # Ray is joined first: an address that does not answer is one error and no file written
    joined = ray_session(ray, workers) if ray is not None else contextlib.nullcontext()
    with joined, writer_lock(out):
        record = BatchRecord(
            goals_file=str(goals_file),
            engine=engine_name(ray, workers),
            context=recorded(context),
            started_at=now(),
            updated_at=now(),
            runs=[GoalOutcome.pending(g) for g in goals],
        )
        jobs: list[GoalJob] = []
        slots: list[int] = []
        cache_dir = worker_cache_dir(context.cache_dir) if ray is not None else None
        for slot, goal in enumerate(goals):
            job = GoalJob(
                goal=goal,
                out_dir=str(out),
                context=context,
                cache_dir=cache_dir,
                checkpointer=checkpointer,
            )
            if previous_run(out / goal.run_id, job) == "finished":
                entry = record.runs[slot]
                read_finished(out / goal.run_id, entry)
                entry.status = "skipped"
            else:
                jobs.append(job)
                slots.append(slot)
        save(out, record, started)
        if on_start:
            on_start(record)
        for index, result in fan_out(
            run_goal, jobs, ray=ray, workers=workers, max_retries=max_retries
        ):
            outcome = result if isinstance(result, GoalOutcome) else _died(jobs[index], result)
            record.runs[slots[index]] = outcome
            save(out, record, started)
            if on_result:
                on_result(outcome)
    return record


def _died(job: GoalJob, exc: BaseException) -> GoalOutcome:
    """The entry of a goal whose task did not return (its worker died more than
    ``max_retries`` times, or Ray failed)."""
    outcome = GoalOutcome.pending(job.goal)
    outcome.status = "failed"
    what = str(exc) if isinstance(exc, SovereignError) else f"{type(exc).__name__}: {exc}"
    outcome.error = one_line(redact(what))[:500]
    return outcome


def save(out: Path, record: BatchRecord, started: float) -> None:
    from sovereign_agents.runner import write_json

    record.updated_at = now()
    record.wall_s = round(time.monotonic() - started, 3)
    counts: dict[str, int] = {}
    for run in record.runs:
        counts[run.status] = counts.get(run.status, 0) + 1
    record.counts = counts
    write_json(out / BATCH_JSON, record.model_dump(mode="json"))


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
