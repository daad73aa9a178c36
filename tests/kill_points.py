"""The on-disk state a SIGKILL leaves at every checkpoint boundary of a finished run.

LangGraph saves a checkpoint after each superstep and, while the next step runs, each task's
writes as that task finishes. A process killed at any moment therefore leaves, for some
checkpoint ``C``: every checkpoint up to ``C``, and the saved writes of none, some or all of
the tasks of the step after ``C`` -- and no report (``report.*`` are written last). A kill
after the last checkpoint leaves everything but the report.

``kill_states`` rebuilds each of those states from a finished run's ``checkpoints.sqlite`` (no
writes of the next step / only the first task's / all of them); ``sweep`` resumes every one
and sorts the outcomes: identical to the uninterrupted run, different, refused, stuck.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sovereign_agents.errors import SovereignError
from sovereign_agents.runner import CHECKPOINTS, serializer

VARIANTS = ("none", "first", "all")


@dataclass(frozen=True)
class KillState:
    step: int
    checkpoint_id: str
    variant: str  # which writes of the step after the checkpoint were saved

    @property
    def name(self) -> str:
        return f"step{self.step:+03d}-{self.variant}" if self.checkpoint_id else "no-checkpoint"


def kill_states(run_dir: Path) -> list[KillState]:
    """Every distinct state a kill can leave (``first`` only where a step has two tasks),
    starting with a kill before the first checkpoint (run.json written, nothing else)."""
    with sqlite3.connect(run_dir / CHECKPOINTS) as db:
        checkpoints = [row[0] for row in db.execute(_CHECKPOINTS_IN_ORDER)]
        tasks = dict(
            db.execute(
                "SELECT checkpoint_id, COUNT(DISTINCT task_id) FROM writes "
                "WHERE checkpoint_ns = '' GROUP BY checkpoint_id"
            ).fetchall()
        )
    states = [KillState(-2, "", "none")]
    for step, checkpoint in enumerate(checkpoints, start=-1):
        n_tasks = tasks.get(checkpoint, 0)
        for variant in VARIANTS:
            if (variant == "all" and n_tasks == 0) or (variant == "first" and n_tasks < 2):
                continue
            states.append(KillState(step, checkpoint, variant))
    return states


_CHECKPOINTS_IN_ORDER = (
    "SELECT checkpoint_id FROM checkpoints WHERE checkpoint_ns = '' ORDER BY checkpoint_id"
)


def rebuild(run_dir: Path, state: KillState, target: Path) -> Path:
    """``target`` as the run folder would be after a kill at ``state``."""
    target.mkdir(parents=True)
    shutil.copyfile(run_dir / "run.json", target / "run.json")
    with (
        sqlite3.connect(run_dir / CHECKPOINTS) as source,
        sqlite3.connect(target / CHECKPOINTS) as db,
    ):
        source.backup(db)
        cid = state.checkpoint_id
        db.execute("DELETE FROM checkpoints WHERE checkpoint_id > ?", (cid,))
        db.execute("DELETE FROM writes WHERE checkpoint_id > ?", (cid,))
        if state.variant == "none":
            db.execute("DELETE FROM writes WHERE checkpoint_id = ?", (cid,))
        elif state.variant == "first":
            first = db.execute(
                "SELECT task_id FROM writes WHERE checkpoint_id = ? ORDER BY rowid LIMIT 1",
                (cid,),
            ).fetchone()[0]
            db.execute("DELETE FROM writes WHERE checkpoint_id = ? AND task_id != ?", (cid, first))
        row = db.execute(
            "SELECT type, checkpoint FROM checkpoints WHERE checkpoint_id = ?", (cid,)
        ).fetchone()
    # the trace holds the node executions that had finished when the checkpoint was taken
    taken = datetime.fromisoformat(serializer().loads_typed(row)["ts"]) if row else None
    lines = (run_dir / "trace.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [
        line
        for line in lines
        if taken is not None and datetime.fromisoformat(json.loads(line)["end"]) <= taken
    ]
    (target / "trace.jsonl").write_text("".join(kept), encoding="utf-8")
    return target


def comparable(run_dir: Path) -> dict[str, Any] | None:
    """What two runs of the same goal must share: the whole report but its creation time and
    the measured durations (papers, claims, scores, verdict, policy, uncertainties, ...)."""
    path = run_dir / "report.json"
    if not path.is_file() or not (run_dir / "report.md").is_file():
        return None
    report = _untimed(json.loads(path.read_text(encoding="utf-8")))
    report.pop("created_at", None)
    return {"json": report, "md_sections": _without_date((run_dir / "report.md").read_text())}


def _untimed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


TIMINGS = {"seconds", "latency_s"}


def _without_date(markdown: str) -> str:
    lines = markdown.splitlines()
    return "\n".join(line for n, line in enumerate(lines) if n > 4 or not line[:4].isdigit())


def sweep(
    finished: Path,
    work: Path,
    resume: Callable[[Path], Any],
    states: list[KillState] | None = None,
) -> tuple[Counter[str], dict[str, list[str]]]:
    """Resume every kill state of ``finished``; counts and the names in each outcome."""
    expected = comparable(finished)
    assert expected is not None, f"{finished} is not a finished run"
    counts: Counter[str] = Counter()
    names: dict[str, list[str]] = {}
    for state in states if states is not None else kill_states(finished):
        folder = rebuild(finished, state, work / state.name)
        outcome = _outcome(folder, resume, expected)
        counts[outcome] += 1
        names.setdefault(outcome, []).append(state.name)
    return counts, names


def _outcome(folder: Path, resume: Callable[[Path], Any], expected: dict[str, Any]) -> str:
    try:
        resume(folder)
    except SovereignError:
        return "refused"
    except Exception:  # a crash is one of the outcomes being counted
        return "crashed"
    got = comparable(folder)
    if got is None:
        return "stuck"
    return "identical" if got == expected else "different"


def iter_lines(counts: Counter[str]) -> Iterator[str]:
    for key in ("identical", "different", "refused", "stuck", "crashed"):
        yield f"{key}={counts.get(key, 0)}"
