"""Graph state: what flows between nodes, with a reducer wherever parallel nodes write.

``InputState`` is what a caller passes; ``OutputState`` is what ``invoke`` returns;
``ResearchState`` is everything in between (and what a checkpoint holds).
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, NotRequired

from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from sovereign_agents.goal import GoalAnalysis
from sovereign_agents.schemas import (
    Claim,
    Draft,
    Paper,
    PolicyDecision,
    QueryRecord,
    RankedPaper,
    Review,
    RevisionPlan,
    SearchHit,
    TribunalRound,
    Uncertainty,
)
from sovereign_agents.signals import RunSignals
from sovereign_agents.verification.base import VerifierRecord


def merge_claims(left: list[Claim], right: list[Claim]) -> list[Claim]:
    """Claims keyed by id: a later write of the same id replaces it, order is kept."""
    merged = {c.id: c for c in left}
    for claim in right:
        merged[claim.id] = claim
    return list(merged.values())


def merge_papers(left: list[RankedPaper], right: list[RankedPaper]) -> list[RankedPaper]:
    """Selected papers keyed by paper id; the first selection (its round) is kept."""
    merged = {p.paper.id: p for p in left}
    for ranked in right:
        merged.setdefault(ranked.paper.id, ranked)
    return list(merged.values())


class RoundSignals(BaseModel):
    """The round's measured signals (``signals``, written by draft; round_signals.py), with
    a stamp of what they were measured from so a reader can tell they still hold."""

    basis: str = Field(description="sha256 of the state and knobs they were measured from")
    signals: RunSignals


# A model with defaults, not a TypedDict: LangChain's ``graph.as_tool()`` takes its arguments
# from this schema, and with a TypedDict it required every key (paper and run_id too).
class InputState(BaseModel):
    """A research run's input: the goal; optionally a paper to anchor on and a run id."""

    goal: str = Field(description="the research question")
    paper: str | None = Field(default=None, description="arXiv id of a paper to anchor on")
    run_id: str | None = Field(default=None, description="the run's id (default: a new one)")


class InputDict(TypedDict):
    """``InputState`` as the plain dict callers pass (``graph.invoke({"goal": ...})``): the
    compiled graph's input type for type checkers; the same keys (a test keeps them so)."""

    goal: str
    paper: NotRequired[str | None]
    run_id: NotRequired[str | None]


class OutputState(TypedDict):
    run_id: str
    goal: str
    verdict: str
    policy: str
    tribunal_score: float
    report: dict[str, Any]
    report_markdown: str


class ExtractTask(TypedDict):
    """The payload of one ``Send("extract", ...)``: one paper to extract claims from."""

    goal: str
    paper: Paper
    round: int
    anchor: NotRequired[bool]
    context_key: NotRequired[str | None]  # the run's context, for node-cache keys (node_cache)


class SearchTask(TypedDict):
    """The payload of one ``Send("search", ...)``: one query."""

    query: str
    round: int
    goal: str
    context_key: NotRequired[str | None]  # the run's context, for node-cache keys (node_cache)


class ResearchState(TypedDict):
    # input
    goal: str
    paper: NotRequired[str | None]
    run_id: NotRequired[str | None]
    # plan
    created_at: NotRequired[str]
    context_key: NotRequired[str]  # a hash of the run's context (node_cache.run_context_key)
    anchor: NotRequired[Paper | None]
    goal_analysis: NotRequired[GoalAnalysis]
    queries: NotRequired[list[str]]
    # search (parallel writers: reducers)
    hits: NotRequired[Annotated[list[SearchHit], operator.add]]
    query_log: NotRequired[Annotated[list[QueryRecord], operator.add]]
    # index
    papers: NotRequired[Annotated[list[RankedPaper], merge_papers]]
    embedding: NotRequired[dict[str, Any]]
    goal_weights: NotRequired[dict[str, float]]
    # extract / verify (parallel writers: reducers)
    claims: NotRequired[Annotated[list[Claim], merge_claims]]
    verifier: NotRequired[VerifierRecord]  # written once, by the first verify
    # draft / tribunal
    draft: NotRequired[Draft]
    signals: NotRequired[RoundSignals]
    reviews: NotRequired[Annotated[list[Review], operator.add]]
    tribunal: NotRequired[Annotated[list[TribunalRound], operator.add]]
    revision_round: NotRequired[int]
    revision: NotRequired[RevisionPlan | None]
    # close
    decision: NotRequired[PolicyDecision]
    uncertainties: NotRequired[Annotated[list[Uncertainty], operator.add]]
    prompts: NotRequired[Annotated[list[dict[str, Any]], operator.add]]
    model_calls: NotRequired[Annotated[int, operator.add]]
    # output
    verdict: NotRequired[str]
    policy: NotRequired[str]
    tribunal_score: NotRequired[float]
    report: NotRequired[dict[str, Any]]
    report_markdown: NotRequired[str]


def active_claims(state: ResearchState) -> list[Claim]:
    return [c for c in state.get("claims", []) if c.active]


def current_reviews(state: ResearchState) -> list[Review]:
    """The reviews of the current round (``reviews`` is reset when a new round starts)."""
    return list(state.get("reviews", []))
