"""Data that crosses a boundary: papers, claims, verifications, reviews, verdicts.

Every model here is a pydantic model so it validates on the way in (from a model's
output, a corpus file, a checkpoint) and serialises the same way into report.json.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sovereign_agents.redaction import redact
from sovereign_agents.text import clean_text

ReviewerRole = str  # the name of a reviewer in the roles registry (roles.py)


MAX_ID_CHARS = 100
MAX_TITLE_CHARS = 500
MAX_ABSTRACT_CHARS = 10_000  # arXiv caps abstracts at 1,920; anything longer is not one


class _Model(BaseModel):
    model_config = ConfigDict(frozen=False, extra="forbid")


class Paper(_Model):
    """One source document. Its identity is ``source`` + ``id`` + ``version``: the search
    source that issues the id (arXiv is one; ``search.register_source`` adds others), the
    id there, and the version checked. A run searches one source, so ``id`` alone names a
    paper within a run (claims cite it as ``paper_id``)."""

    source: str = Field(
        default="arxiv",
        description="the source that issues the id: 'arxiv' (the API and arXiv metadata "
        "files alike; the default, so older caches and traces read unchanged) or a "
        "registered source's name",
    )
    id: str = Field(description="the id at its source, without version (arXiv: 2505.01234)")
    version: int | None = Field(default=None, description="version number at the source, if any")
    title: str
    abstract: str
    authors: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    url: str = ""
    published: str | None = None

    @field_validator("id")
    @classmethod
    def _clean_id(cls, value: str) -> str:  # an id is printed and linked: no control chars
        cleaned = clean_text(value, MAX_ID_CHARS)
        if not cleaned:
            raise ValueError("empty paper id")
        return cleaned

    @field_validator("title")
    @classmethod
    def _clean_title(cls, value: str) -> str:
        return clean_text(value, MAX_TITLE_CHARS)

    @field_validator("abstract")
    @classmethod
    def _clean_abstract(cls, value: str) -> str:
        return clean_text(value, MAX_ABSTRACT_CHARS)

    @property
    def text(self) -> str:
        """The text a claim from this paper is verified against: title and abstract."""
        return f"{self.title}. {self.abstract}"

    @property
    def link(self) -> str:
        """Its page: ``url``, else (arXiv only) the abstract page of its id."""
        if self.url or self.source != "arxiv":
            return self.url
        return f"https://arxiv.org/abs/{self.id}"


class SearchHit(_Model):
    """A paper returned for one query, with its rank and score for that query."""

    query: str
    round: int
    rank: int
    score: float
    paper: Paper


class QueryRecord(_Model):
    query: str
    round: int
    backend: str
    hits: int
    seconds: float
    error: str | None = None


class RankedPaper(_Model):
    """A paper selected for the run, with why it was selected."""

    paper: Paper
    round: int = Field(description="revision round in which it was first selected")
    fused_score: float = Field(description="reciprocal-rank fusion over the queries that found it")
    relevance: float = Field(
        description="0.5 * semantic + 0.5 * lexical: the paper's fit to the goal"
    )
    semantic: float = Field(default=0.0, description="embedding cosine of paper and goal")
    lexical: float = Field(default=0.0, description="IDF-weighted share of goal terms in the paper")
    queries: list[str] = Field(default_factory=list)
    anchor: bool = False


Stance = Literal["SUPPORT", "CONTRADICT", "NOT_ENOUGH_INFO"]


class Verification(_Model):
    verifier: str
    confidence: float
    threshold: float
    verified: bool
    signals: dict[str, float] = Field(
        default_factory=dict, description="other signals beside the score, never instead of it"
    )
    evidence: str | None = Field(
        default=None, description="the source sentence(s) the verifier found best for the claim"
    )
    evidence_found: bool | None = Field(
        default=None,
        description="the verifier judged that the source holds evidence on the claim (either way)",
    )
    stance: Stance | None = Field(
        default=None, description="an entailment judge's label; None when stance was not checked"
    )
    stance_quote: str | None = None
    stance_by: str | None = Field(
        default=None,
        description="what judged the stance: the offline stance model (e.g. stance_v1) or "
        "'judge <model>'",
    )
    source_sha256: str | None = Field(
        default=None,
        description="sha256 of the source text (title + abstract) it was checked against",
    )
    paper_version: int | None = Field(default=None, description="the paper version checked")


def claim_id(paper_id: str, evidence: str) -> str:
    """A stable id from the paper and the evidence sentence: survives revision rounds."""
    digest = hashlib.sha1(f"{paper_id}\n{' '.join(evidence.split())}".encode()).hexdigest()
    return f"C{digest[:8]}"


class Claim(_Model):
    id: str
    text: str
    paper_id: str
    evidence: str = Field(description="the sentence of the source the claim rests on")
    evidence_start: int | None = Field(default=None, description="char offset in the abstract")
    evidence_end: int | None = None
    round: int = 0
    engine: str = "extractive"
    verification: Verification | None = None
    dropped_in_round: int | None = Field(
        default=None, description="set when a revision dropped the claim"
    )
    drop_reason: str | None = None
    human_verdict: Literal["supported", "rejected"] | None = Field(
        default=None, description="a human's verdict on a disputed claim (--review-disputed)"
    )

    @property
    def verified(self) -> bool:
        return bool(self.verification and self.verification.verified)

    @property
    def confidence(self) -> float:
        return self.verification.confidence if self.verification else 0.0

    @property
    def active(self) -> bool:
        return self.dropped_in_round is None


class CitedSentence(_Model):
    text: str
    claim_ids: list[str] = Field(default_factory=list)


class Draft(_Model):
    round: int
    abstract: list[CitedSentence]
    answer: list[CitedSentence] = Field(default_factory=list)
    engine: str = "extractive"

    @property
    def cited_ids(self) -> set[str]:
        return {cid for s in [*self.abstract, *self.answer] for cid in s.claim_ids}


class ReviewIssue(_Model):
    text: str
    claim_ids: list[str] = Field(default_factory=list)
    severity: Literal["low", "medium", "high"] = "medium"


class Review(_Model):
    role: ReviewerRole
    round: int
    score: float = Field(ge=0, le=10)
    issues: list[ReviewIssue] = Field(default_factory=list)
    rationale: str = ""
    engine: str = "extractive"


class TribunalVerdict(StrEnum):
    APPROVE = "APPROVE"
    REVISE = "REVISE"
    REJECT = "REJECT"


class TribunalRound(_Model):
    """One round of the tribunal, kept so the report can show the revision's difference."""

    round: int
    score: float
    spread: float
    reviews: list[Review]
    verdict: TribunalVerdict
    claims: dict[str, bool] = Field(description="active claim id -> verified, at this round")


class Policy(StrEnum):
    AUTO_APPROVE = "AUTO_APPROVE"
    HUMAN_REVIEW = "HUMAN_REVIEW"
    REJECT = "REJECT"


class PolicyDecision(_Model):
    policy: Policy
    reason: str
    rules: dict[str, float | int | bool]


class RevisionPlan(_Model):
    round: int
    queries: list[str]
    dropped_claim_ids: list[str]
    focus_claim_ids: list[str] = Field(
        default_factory=list, description="claims the reviewers raised issues on"
    )
    rationale: str = ""
    engine: str = "extractive"


class Uncertainty(_Model):
    kind: Literal["fallback", "failure", "weak_signal", "coverage", "config", "injection"]
    message: str
    node: str | None = None

    @field_validator("message")
    @classmethod
    def _no_secrets(cls, value: str) -> str:  # error texts may quote a request's credentials
        return redact(value)


class PromptRecord(_Model):
    id: str
    version: str
    sha256: str
    role: str
    used_by: str = Field(description="engine that ran the role: a model name or 'extractive'")


class ModelRecord(_Model):
    chat: dict[str, str]
    embedding: str
    embedding_dim: int
