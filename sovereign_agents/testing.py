"""Test doubles that ship with the library, so users can test their own graphs with them.

* ``ScriptedEngine``: the extractive engine with reviewer scores fixed per round, to drive
  the tribunal's routing either way (pass it as ``Context(llm=ScriptedEngine(...))``).
* ``fake_chat_model``: a LangChain chat model that answers from a list of replies.
* ``role_chat_model``: a chat model that answers every role validly after a delay, natively
  async (``asyncio.sleep`` under ``ainvoke``); it records sync vs async calls and the peak
  number of calls in flight (to test an async host or ``max_concurrency``).
* ``shared_data``: where the project's real test data lives (``../shared/data``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from sovereign_agents.engines.base import RoleResult
from sovereign_agents.engines.extractive import ExtractiveEngine
from sovereign_agents.schemas import Claim, Draft, Paper, Review, ReviewerRole, RevisionPlan
from sovereign_agents.signals import RunSignals

if TYPE_CHECKING:
    from sovereign_agents.bench.latency_model import LatencyChatModel


class ScriptedEngine(ExtractiveEngine):
    """The offline engine, but each reviewer's score per round comes from a script.

    ``scores[round][role]`` (or ``scores[round]`` as one number for every reviewer). Rounds
    not in the script keep the computed score. ``calls`` records every role call as
    ``(role, round)``.
    """

    name = "scripted"

    def __init__(self, scores: dict[int, float | dict[str, float]]) -> None:
        self.scores = scores
        self.calls: list[tuple[str, int]] = []

    def plan(self, goal: str, anchor: Paper | None, n_queries: int) -> RoleResult[list[str]]:
        self.calls.append(("planner", 0))
        return super().plan(goal, anchor, n_queries)

    def extract(
        self, goal: str, paper: Paper, max_claims: int, round: int
    ) -> RoleResult[list[Claim]]:
        self.calls.append(("extractor", round))
        return super().extract(goal, paper, max_claims, round)

    def write(
        self,
        goal: str,
        claims: list[Claim],
        signals: RunSignals,
        revision: RevisionPlan | None,
        round: int,
    ) -> RoleResult[Draft]:
        self.calls.append(("writer", round))
        return super().write(goal, claims, signals, revision, round)

    def review(
        self, role: ReviewerRole, goal: str, draft: Draft, claims: list[Claim], signals: RunSignals
    ) -> RoleResult[Review]:
        result = super().review(role, goal, draft, claims, signals)
        self.calls.append((role, signals.round))
        scripted = self.scores.get(signals.round)
        if scripted is not None:
            score = scripted if isinstance(scripted, int | float) else scripted[role]
            result.value = result.value.model_copy(
                update={"score": float(score), "engine": self.name}
            )
        return result


def fake_chat_model(replies: Sequence[str]) -> GenericFakeChatModel:
    """A chat model that returns ``replies`` in order (LangChain's own fake)."""
    return GenericFakeChatModel(messages=iter([AIMessage(content=r) for r in replies]))


def role_chat_model(latency: float = 0.0, score: float = 8.0) -> LatencyChatModel:
    """A chat model answering every role's schema after ``latency`` seconds (``time.sleep``
    under ``invoke``, ``asyncio.sleep`` under ``ainvoke``); reviewers score ``score``. It
    records ``calls``, ``async_calls`` (those that came through ``ainvoke`` / ``abatch``) and
    ``peak`` (the most calls in flight at once)."""
    from sovereign_agents.bench.latency_model import LatencyChatModel

    return LatencyChatModel(latency=latency, first_score=score, later_score=score)


def shared_data() -> Path:
    """``../shared/data`` beside the project checkout (override: SOVEREIGN_SHARED_DATA).

    A checkout one level deeper (a git worktree such as ``wt/<branch>``) finds the same
    folder further up: the nearest ancestor holding ``shared/data`` wins.
    """
    configured = os.environ.get("SOVEREIGN_SHARED_DATA")
    if configured:
        return Path(configured)
    here = Path(__file__).resolve()
    default = here.parents[2] / "shared" / "data"
    for ancestor in here.parents[2:]:
        if (ancestor / "shared" / "data").is_dir():
            return ancestor / "shared" / "data"
    return default


DAILY_CS = "arxiv_metadata/daily_listing_cs/arxiv_cs_daily_2025-05-01_2025-06-09.jsonl"
KAGGLE_SAMPLE = "arxiv_metadata/kaggle_oai_snapshot_sample/arxiv-metadata-oai-snapshot.json"
