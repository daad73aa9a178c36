"""Stance: an entailment judge labels each claim against its best evidence.

The hybrid verifier finds the evidence sentence(s); the engine of the ``judge`` role (a chat
model: ``engines.chat.ChatEngine.judge``) reads claim and evidence with the versioned
``judge`` prompt and answers SUPPORT / CONTRADICT / NOT_ENOUGH_INFO with a quote, validated
against ``role_schemas.JudgeOutput`` through the same structured-call machinery as every
role. A failed call leaves that claim's stance to the hybrid's stance model and is recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from sovereign_agents.prompts import Prompt
from sovereign_agents.role_schemas import JudgeOutput
from sovereign_agents.schemas import Verification
from sovereign_agents.steps import Body, adrive, drive, either, offload
from sovereign_agents.verification.base import Verdicts, VerifierRecord
from sovereign_agents.verification.hybrid import HybridVerifier

if TYPE_CHECKING:
    from sovereign_agents.engines.base import RoleResult

JUDGE_ROLE = "judge"


class StanceJudge(Protocol):
    """An engine that judges stance (``Engine.judge`` with ``judges_stance``) and names its
    prompt (``ChatEngine``)."""

    name: str

    def judge(
        self, claims: list[str], evidences: list[str]
    ) -> RoleResult[list[JudgeOutput | None]]: ...

    def prompt(self, role: str) -> Prompt: ...


@dataclass(frozen=True)
class JudgedVerifier:
    """The hybrid verifier with a stance judge on each claim's best evidence.

    SUPPORT keeps P(evidence) as confidence; CONTRADICT and NOT_ENOUGH_INFO cap it below the
    threshold, so ``verified`` stays exactly ``confidence >= threshold``. Where the judge
    failed, the hybrid verdict stands and the stance stays unchecked.
    """

    base: HybridVerifier
    judge: StanceJudge
    name: str = "hybrid+judge"

    @property
    def threshold(self) -> float:
        return float(self.base.threshold)

    def describe(self) -> str:
        return (
            f"{self.base.describe()}; then an entailment judge ({self.judge.name}, prompt "
            f"{self.prompt_ref}) labels each claim against that evidence: SUPPORT keeps "
            "P(evidence) as confidence, CONTRADICT / NOT_ENOUGH_INFO cap it below the threshold"
        )

    @property
    def prompt(self) -> Prompt:
        return self.judge.prompt(JUDGE_ROLE)

    @property
    def prompt_ref(self) -> str:
        return f"{self.prompt.id}@{self.prompt.version}"

    def record(self) -> VerifierRecord:
        base = self.base.record()
        stance = self.base.stance
        return base.model_copy(
            update={
                "name": self.name,
                "threshold": self.threshold,
                "description": self.describe(),
                "stance": f"judge {self.judge.name}"
                + (f" (where it fails: {stance.describe()})" if stance is not None else ""),
                "prompts": [self.prompt.record(self.judge.name)],
            }
        )

    def verify(self, claims: Sequence[str], sources: Sequence[str]) -> Verdicts:
        return drive(self._verify(claims, sources))

    async def averify(self, claims: Sequence[str], sources: Sequence[str]) -> Verdicts:
        """``verify`` awaited: the hybrid in a worker thread, the judge's calls on the loop
        (its ``ajudge`` when it has one)."""
        return await adrive(self._verify(claims, sources))

    def _verify(self, claims: Sequence[str], sources: Sequence[str]) -> Body[Verdicts]:
        hybrid = yield offload(self.base.verify, claims, sources)
        verdicts = hybrid.verdicts
        judged = yield either(
            self.judge.judge,
            getattr(self.judge, "ajudge", None),
            list(claims),
            [v.evidence or s for v, s in zip(verdicts, sources, strict=True)],
        )
        return Verdicts(
            [
                apply_stance(v, label, f"judge {self.judge.name}")
                for v, label in zip(verdicts, judged.value, strict=True)
            ],
            model_calls=hybrid.model_calls + judged.model_calls,
            uncertainties=[*hybrid.uncertainties, *judged.uncertainties],
        )


def apply_stance(v: Verification, label: JudgeOutput | None, by: str = "judge") -> Verification:
    """The judge's label decides the stance; where it failed (None) the hybrid's verdict, with
    its stance model's label, stands."""
    if label is None:
        return v
    p_evidence = v.signals.get("p_evidence", v.confidence)
    if label.label == "SUPPORT":
        confidence = max(p_evidence, v.confidence)
    else:
        confidence = min(v.confidence, 0.5 * v.threshold)
    confidence = round(float(confidence), 4)
    return v.model_copy(
        update={
            "confidence": confidence,
            "verified": confidence >= v.threshold,
            "evidence_found": label.label != "NOT_ENOUGH_INFO",
            "stance": label.label,
            "stance_quote": label.quote or None,
            "stance_by": by,
        }
    )
