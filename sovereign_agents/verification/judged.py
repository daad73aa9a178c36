"""Stance: an entailment judge (a chat model) labels each claim against its best evidence.

The hybrid verifier finds the evidence sentence(s); the judge reads claim and evidence with
the versioned ``judge`` prompt and answers SUPPORT / CONTRADICT / NOT_ENOUGH_INFO with a
quote, validated against ``role_schemas.JudgeOutput`` through the same structured-call
machinery as every role. A failed call leaves that claim's stance unchecked and is recorded.
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from sovereign_agents.context import Context
from sovereign_agents.models.call_cache import ModelCallCache
from sovereign_agents.models.chat_engine import SYSTEM
from sovereign_agents.models.specs import model_name
from sovereign_agents.models.structured import (
    CallFailed,
    CallPolicy,
    OutputInvalid,
    call_structured,
)
from sovereign_agents.prompts import Prompt, load_prompt
from sovereign_agents.role_schemas import JudgeOutput
from sovereign_agents.schemas import Uncertainty, Verification
from sovereign_agents.verification.base import Verdicts, VerifierRecord
from sovereign_agents.verification.hybrid import HybridVerifier
from sovereign_agents.wording import count

JUDGE_ROLE = "judge"


@dataclass
class StanceJudge:
    model: BaseChatModel
    prompt: Prompt
    policy: CallPolicy = field(default_factory=CallPolicy)
    cache: ModelCallCache | None = None
    workers: int = 4

    @property
    def name(self) -> str:
        return model_name(self.model)

    def judge_one(self, claim: str, evidence: str) -> tuple[JudgeOutput | None, int, str | None]:
        """(label or None, calls made, why it failed)."""
        messages: list[BaseMessage] = [
            SystemMessage(content=SYSTEM),
            HumanMessage(content=self.prompt.render(claim=claim, evidence=evidence)),
        ]
        try:
            outcome = call_structured(
                self.model,
                messages,
                JudgeOutput,
                role=JUDGE_ROLE,
                prompt_ref=self.prompt.ref,
                model_label=self.name,
                policy=self.policy,
                cache=self.cache,
            )
        except (CallFailed, OutputInvalid) as exc:
            return None, exc.calls, str(exc)
        assert isinstance(outcome.value, JudgeOutput)
        return outcome.value, outcome.calls, None

    def judge(
        self, claims: Sequence[str], evidences: Sequence[str]
    ) -> tuple[list[JudgeOutput | None], int, list[Uncertainty]]:
        """Every claim judged (in parallel threads): labels, model calls, what went wrong."""
        if not claims:
            return [], 0, []
        with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(claims)))) as pool:
            # each call in a copy of this context, so the run's trace records it
            futures = [
                pool.submit(contextvars.copy_context().run, self.judge_one, claim, evidence)
                for claim, evidence in zip(claims, evidences, strict=True)
            ]
            results = [f.result() for f in futures]
        failures = [why for _, _, why in results if why]
        notes = []
        if failures:
            notes.append(
                Uncertainty(
                    kind="fallback",
                    node="verify",
                    message=(
                        f"judge ({self.name}) failed on {len(failures)} of "
                        f"{count(len(claims), 'claim')}, whose stance was not checked by it (the "
                        f"stance model's verdict stands): {failures[0]}"
                    ),
                )
            )
        return [r for r, _, _ in results], sum(c for _, c, _ in results), notes


def stance_judge(context: Context) -> StanceJudge | None:
    """The stance judge of a run: its ``judge`` role's chat model, or None when that role
    runs offline (the extractive engine or an engine object checks no stance)."""
    from sovereign_agents.engines import is_engine, is_extractive

    spec = context.llm_for(JUDGE_ROLE)
    if is_extractive(spec) or is_engine(spec):
        return None
    return judge_from_spec(spec, context)


def judge_from_spec(spec: Any, context: Context) -> StanceJudge:
    """A judge for a model spec under a run's context (its prompts, retries and cache)."""
    from sovereign_agents.models import model_setup

    model, policy, cache = model_setup(spec, context)
    return StanceJudge(
        model=model,
        prompt=load_prompt(
            JUDGE_ROLE, context.prompt_versions.get(JUDGE_ROLE), context.prompts_dir
        ),
        policy=policy,
        cache=cache,
        workers=max(1, context.max_concurrency or 4),
    )


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
    def prompt_ref(self) -> str:
        return f"{self.judge.prompt.id}@{self.judge.prompt.version}"

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
                "prompts": [self.judge.prompt.record(self.judge.name)],
            }
        )

    def verify(self, claims: Sequence[str], sources: Sequence[str]) -> Verdicts:
        hybrid = self.base.verify(claims, sources)
        verdicts = hybrid.verdicts
        labels, calls, notes = self.judge.judge(
            list(claims), [v.evidence or s for v, s in zip(verdicts, sources, strict=True)]
        )
        return Verdicts(
            [
                apply_stance(v, label, f"judge {self.judge.name}")
                for v, label in zip(verdicts, labels, strict=True)
            ],
            model_calls=hybrid.model_calls + calls,
            uncertainties=[*hybrid.uncertainties, *notes],
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
