"""Many goals, one run folder each: ``sovereign batch GOALS.jsonl --out DIR`` and its Python
API ``run_batch`` (in this process, or as Ray tasks that survive a worker's death)."""

from sovereign_agents.batch.driver import BATCH_JSON, BatchRecord, run_batch
from sovereign_agents.batch.goals import BatchGoal, read_goals
from sovereign_agents.batch.task import GoalJob, GoalOutcome, run_goal

__all__ = [
    "BATCH_JSON",
    "BatchGoal",
    "BatchRecord",
    "GoalJob",
    "GoalOutcome",
    "read_goals",
    "run_batch",
    "run_goal",
]
