"""What a verifier is: the ``Verifier`` protocol, its ``Verdicts``, and its ``VerifierRecord``.

A verifier scores (claim, source) pairs: ``verify`` returns one ``Verification`` per pair
(``verified`` exactly when ``confidence >= threshold``) with the model calls it made and what
went wrong. ``record()`` is what a run says about it: the verify node stores it once in the
state (``ResearchState.verifier``) and the report, the reviewers and human review read it
from there instead of building the verifier again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from sovereign_agents.schemas import Uncertainty, Verification


@dataclass
class Verdicts:
    """One ``verify`` call: a verdict per pair, the model calls made, what went wrong."""

    verdicts: list[Verification]
    model_calls: int = 0
    uncertainties: list[Uncertainty] = field(default_factory=list)


class FittedParams(BaseModel):
    """A fitted parameter file shipped in ``verifier_params/`` and its provenance."""

    file: str
    fitted: str | None = None
    data_sha256: str | None = None
    evidence_threshold: float
    held_out: dict[str, Any] | None = None


class StanceModelRecord(BaseModel):
    name: str
    file: str
    fitted: str | None = None
    threshold: float
    held_out: dict[str, Any] | None = None


class VerifierRecord(BaseModel):
    """What the report and the trace say about the run's verifier (``report.json``'s
    ``verifier``), plus what the run needs to know of it without building it again."""

    name: str
    threshold: float
    description: str
    ngram_range: list[int] | None = None
    params: FittedParams | None = None
    stance_model: StanceModelRecord | None = None
    stance: str = Field(description="what judges each claim's stance, or 'not checked'")
    caveat: str = Field(
        description="the Uncertainty stated when no claim's stance was checked (not in the report)"
    )
    prompts: list[dict[str, Any]] = Field(
        default_factory=list, description="prompt records of a model it asks (not in the report)"
    )

    def report_dict(self) -> dict[str, Any]:
        """``report.json``'s ``verifier``: the record without empty parts or run-only fields."""
        data = self.model_dump(mode="json", exclude={"caveat", "prompts"})
        return {k: v for k, v in data.items() if v is not None or k == "stance"}


@runtime_checkable
class Verifier(Protocol):
    """Anything that verifies claims against their sources (``Context(verifier=...)`` takes a
    registered name or an object like this)."""

    @property
    def name(self) -> str: ...

    @property
    def threshold(self) -> float: ...

    def verify(self, claims: Sequence[str], sources: Sequence[str]) -> Verdicts: ...

    def record(self) -> VerifierRecord: ...
