"""Output schemas of the LLM roles, named by each prompt's front matter (``output:``).

A chat model's answer for a role is validated against its schema; invalid output is retried
with the validation error, then the role falls back to the extractive engine.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from sovereign_agents.schemas import CitedSentence, ReviewIssue


class PlanOutput(BaseModel):
    queries: list[str] = Field(min_length=1, description="distinct search queries")


class ExtractedClaim(BaseModel):
    text: str = Field(min_length=8, description="one self-contained factual claim")
    evidence: str = Field(
        min_length=8, description="the exact sentence of the abstract it rests on"
    )


class ExtractOutput(BaseModel):
    claims: list[ExtractedClaim] = Field(
        description="required: an empty list when the paper holds no claim on the goal"
    )


class DraftOutput(BaseModel):
    abstract: list[CitedSentence] = Field(min_length=1)
    answer: list[CitedSentence] = Field(default_factory=list)


class ReviewOutput(BaseModel):
    score: float = Field(ge=0, le=10)
    issues: list[ReviewIssue] = Field(default_factory=list)
    rationale: str = ""


class RevisionOutput(BaseModel):
    queries: list[str] = Field(min_length=1)
    drop_claim_ids: list[str] = Field(default_factory=list)
    rationale: str = ""


class JudgeOutput(BaseModel):
    label: Literal["SUPPORT", "CONTRADICT", "NOT_ENOUGH_INFO"] = Field(
        description="the evidence's stance on the claim"
    )
    quote: str = Field(default="", description="the exact words of the evidence that decide it")
