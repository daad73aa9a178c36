"""The goals of a batch: ``GOALS.jsonl``, one ``{"goal": ...}`` object a line.

A line may also name an anchor paper (``"paper": "2505.07858"``); other keys are ignored, so a
labelled goals file (the approval eval's) runs as it is. Blank lines are skipped. A line that
is not such an object, or whose goal has no topic word, stops the batch before anything runs
with one error naming the file and the line.

Each goal gets a run id derived from its text, its paper and how many identical goals came
before it in the file: the same goal keeps its id (and so its run folder) when the batch runs
again, whether the file was reordered or a worker that ran it died, which is how a retried or
repeated run finds its checkpoints.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from pydantic import BaseModel

from sovereign_agents.errors import InputError


class BatchGoal(BaseModel):
    line: int  # 1-based line of GOALS.jsonl
    goal: str
    paper: str | None = None
    run_id: str


def read_goals(path: Path) -> list[BatchGoal]:
    """Every goal of ``path``, validated; ``InputError`` naming the first bad line."""
    from sovereign_agents.nodes.plan import check_goal

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read goals file {path}: {exc}") from exc
    goals: list[BatchGoal] = []
    seen: Counter[tuple[str, str | None]] = Counter()
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{path} line {number}"
        try:
            row = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise InputError(f"{where}: not JSON ({str(exc)[:80]})") from None
        if not isinstance(row, dict) or not isinstance(row.get("goal"), str):
            raise InputError(f'{where}: expected an object with a "goal" string, e.g. {EXAMPLE}')
        paper = row.get("paper")
        if paper is not None and (not isinstance(paper, str) or not paper.strip()):
            raise InputError(f'{where}: "paper" must be an arXiv id string')
        try:
            goal = check_goal(row["goal"])
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        key = (goal, paper.strip() if paper else None)
        goals.append(
            BatchGoal(line=number, goal=goal, paper=key[1], run_id=run_id(*key, seen[key]))
        )
        seen[key] += 1
    if not goals:
        raise InputError(f"{path} holds no goal: one JSON object a line, e.g. {EXAMPLE}")
    return goals


EXAMPLE = '{"goal": "How does speculative decoding speed up LLM inference?"}'


def run_id(goal: str, paper: str | None, repeat: int) -> str:
    """The run id (and folder name) of the ``repeat``-th occurrence of a goal in a batch."""
    key = json.dumps([goal, paper, repeat], ensure_ascii=False)
    return hashlib.sha256(key.encode()).hexdigest()[:12]
