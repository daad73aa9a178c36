"""The small interface behind every role: one node, two engines (offline or chat model).

A node asks ``engine_for(role, context)`` and calls the role's method. The offline
``ExtractiveEngine`` (extractive.py) computes each role from the run's data; ``ChatEngine``
(chat.py) asks a chat model with the role's versioned prompt and falls back to the
extractive engine when the model fails. The stance judge is a role like the others: the
hybrid verifier asks the ``judge`` role's engine when ``judges_stance`` (a chat model).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from sovereign_agents.role_schemas import JudgeOutput
from sovereign_agents.schemas import (
    Claim,
    Draft,
    Paper,
    Review,
    ReviewerRole,
    RevisionPlan,
    Uncertainty,
)
from sovereign_agents.signals import RunSignals

T = TypeVar("T")


@dataclass
class RoleResult(Generic[T]):
    """What a role returns: its value, plus what went wrong on the way (for Uncertainties)."""

    value: T
    engine: str
    uncertainties: list[Uncertainty] = field(default_factory=list)
    model_calls: int = 0


class Engine(Protocol):
    name: str
    judges_stance: bool  # whether ``judge`` labels claims (False: it returns no label)

    def plan(self, goal: str, anchor: Paper | None, n_queries: int) -> RoleResult[list[str]]: ...

    def extract(
        self, goal: str, paper: Paper, max_claims: int, round: int
    ) -> RoleResult[list[Claim]]: ...

    def write(
        self,
        goal: str,
        claims: list[Claim],
        signals: RunSignals,
        revision: RevisionPlan | None,
        round: int,
    ) -> RoleResult[Draft]: ...

    def review(
        self, role: ReviewerRole, goal: str, draft: Draft, claims: list[Claim], signals: RunSignals
    ) -> RoleResult[Review]: ...

    def revise(
        self,
        goal: str,
        queries_done: list[str],
        reviews: list[Review],
        claims: list[Claim],
        signals: RunSignals,
        n_queries: int,
        round: int,
    ) -> RoleResult[RevisionPlan]: ...

    def judge(
        self, claims: list[str], evidences: list[str]
    ) -> RoleResult[list[JudgeOutput | None]]: ...


# An engine may also offer each role as a coroutine named ``a<role method>`` (``aplan``,
# ``aextract``, ...; ``ChatEngine`` does): nodes run under ``ainvoke`` await it. An engine
# without them still works under ``ainvoke``: its methods run in a worker thread.
