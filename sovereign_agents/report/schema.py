"""The report's schema: what ``report.json`` holds (the contract other tools read), typed.

Claims are built from ``Claim`` itself (``ReportClaim.model_validate(claim)``): the fields
they share are read by name, the verifier's verdict is flattened out of ``claim.verification``
by each field's alias, and ``verified`` / ``confidence`` are the claim's own properties. The
same model reads a saved ``report.json`` back (each field also by its own name).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import AliasChoices, AliasPath, BaseModel, ConfigDict, Field, field_validator

from sovereign_agents.schemas import (
    Draft,
    PromptRecord,
    QueryRecord,
    ReviewIssue,
    Uncertainty,
)
from sovereign_agents.signals import RunSignals

REPORT_SCHEMA_VERSION = "1"


def _verdict(name: str, field: str | None = None) -> AliasChoices:
    """Read ``name`` from a report, or ``verification.<field>`` from a ``Claim``."""
    return AliasChoices(name, AliasPath("verification", field or name))


class ReportPaper(BaseModel):
    source: str = Field(
        default="arxiv", description="the search source that issues the id (Paper.source)"
    )
    id: str
    version: int | None
    title: str
    url: str
    relevance: float
    round: int
    anchor: bool
    used: bool = Field(description="at least one active claim comes from it")


class ReportClaim(BaseModel):
    """A claim as the report shows it: ``ReportClaim.model_validate(claim)``."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    text: str
    paper_id: str
    evidence: str
    evidence_start: int | None
    evidence_end: int | None
    verified: bool
    confidence: float
    verifier_evidence: str | None = Field(
        default=None,
        validation_alias=_verdict("verifier_evidence", "evidence"),
        description="the source sentence(s) the verifier found best",
    )
    stance: str | None = Field(
        default=None,
        validation_alias=_verdict("stance"),
        description="SUPPORT / CONTRADICT / NOT_ENOUGH_INFO; None: not checked",
    )
    stance_quote: str | None = Field(default=None, validation_alias=_verdict("stance_quote"))
    stance_by: str | None = Field(
        default=None,
        validation_alias=_verdict("stance_by"),
        description="what judged the stance (stance model or 'judge <model>')",
    )
    source_sha256: str | None = Field(
        default=None,
        validation_alias=_verdict("source_sha256"),
        description="sha256 of the source text the claim was checked against",
    )
    paper_version: int | None = Field(
        default=None,
        validation_alias=_verdict("paper_version"),
        description="the arXiv version checked",
    )
    round: int
    engine: str
    dropped_in_round: int | None
    drop_reason: str | None
    human_verdict: str | None = None

    @field_validator("confidence")
    @classmethod
    def _four_places(cls, value: float) -> float:
        return round(value, 4)

    @property
    def active(self) -> bool:
        return self.dropped_in_round is None


class ReportReview(BaseModel):
    role: str
    score: float
    issues: list[ReviewIssue]
    rationale: str
    engine: str


class ReportRound(BaseModel):
    round: int
    score: float
    spread: float
    verdict: str
    scores: dict[str, float] = Field(description="reviewer role -> score")


class ReportTribunal(BaseModel):
    score: float
    spread: float
    verdict: str
    revision_round: int
    reviews: list[ReportReview]
    rounds: list[ReportRound]


class RevisionDiff(BaseModel):
    round: int
    queries: list[str]
    added: list[str]
    dropped: list[str]
    changed_verdict: list[str]
    rationale: str


class ReportModels(BaseModel):
    chat: dict[str, str] = Field(description="role -> the engine that ran it")
    embedding: str | None
    embedding_dim: int | None
    embedding_detail: dict[str, Any]


class Report(BaseModel):
    schema_version: str = REPORT_SCHEMA_VERSION
    run_id: str
    created_at: str
    goal: str
    title: str
    anchor_paper: str | None
    queries: list[QueryRecord]
    papers: list[ReportPaper]
    claims: list[ReportClaim]
    draft: Draft
    tribunal: ReportTribunal
    revision: RevisionDiff | None
    verdict: str
    policy: str
    policy_reason: str
    policy_rules: dict[str, Any]
    verifier: dict[str, Any]
    prompts: list[PromptRecord]
    models: ReportModels
    search: str
    signals: RunSignals
    uncertainties: list[Uncertainty]
    model_calls: int
    context: dict[str, Any]

    @property
    def active_claims(self) -> list[ReportClaim]:
        return [c for c in self.claims if c.active]

    def as_json(self) -> dict[str, Any]:
        """``report.json``'s content (what the graph's ``report`` output holds)."""
        return self.model_dump(mode="json")


def as_report(report: Report | Mapping[str, Any]) -> Report:
    """A report as the typed model, from the model itself or ``report.json``'s content."""
    return report if isinstance(report, Report) else Report.model_validate(report)
