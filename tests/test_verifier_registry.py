"""The verifier plug: a registry of names, a ``Verifier`` object in the context, one build per
run, and one record in the state that the report and the reviewers read."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from sovereign_agents import Context
from sovereign_agents.errors import ConfigError
from sovereign_agents.runner import run_research
from sovereign_agents.schemas import Verification
from sovereign_agents.testing import ScriptedEngine
from sovereign_agents.verification import (
    VERIFIERS,
    Verdicts,
    Verifier,
    VerifierRecord,
)
from sovereign_agents.verification.resolve import build_verifier, recorded_verifier, verifier_for
from sovereign_agents.verification.tfidf import TfidfVerifier

GOAL = (
    "How does speculative decoding speed up LLM inference, and what acceptance rates are reported?"
)


@dataclass(frozen=True)
class WordShare:
    """A verifier written outside the package: the share of a claim's words in its source."""

    threshold: float = 0.9
    name: str = "word-share"

    def verify(self, claims: Sequence[str], sources: Sequence[str]) -> Verdicts:
        out = []
        for claim, source in zip(claims, sources, strict=True):
            words = set(claim.lower().split())
            share = round(len(words & set(source.lower().split())) / max(1, len(words)), 4)
            out.append(
                Verification(
                    verifier=self.name,
                    confidence=share,
                    threshold=self.threshold,
                    verified=share >= self.threshold,
                )
            )
        return Verdicts(out)

    def record(self) -> VerifierRecord:
        return VerifierRecord(
            name=self.name,
            threshold=self.threshold,
            description=f"share of the claim's words found in its source, >= {self.threshold}",
            stance="not checked",
            caveat="Word share is not entailment; stance was not checked.",
        )


def test_context_takes_a_registered_name_or_a_verifier_object() -> None:
    assert isinstance(WordShare(), Verifier)
    assert build_verifier(Context(verifier=WordShare(threshold=0.5))).threshold == 0.5
    assert isinstance(build_verifier(Context(verifier="tfidf")), TfidfVerifier)
    with pytest.raises(ConfigError, match="verifier must be one of"):
        Context(verifier="bm25")
    with pytest.raises(ConfigError, match=r"verifier must be one of hybrid, tfidf or an object"):
        Context(verifier=object())
    with pytest.raises(ConfigError, match=r"verifier must be one of hybrid, tfidf or an object"):
        Context(verifier=3)


def test_the_verifier_is_built_once_per_context() -> None:
    context = Context(verifier="tfidf")
    assert verifier_for(context) is verifier_for(context)
    assert verifier_for(Context(verifier="tfidf")) is not verifier_for(context)


@pytest.mark.slow
def test_a_registered_verifier_runs_once_per_run_and_the_report_reads_its_record(
    daily_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[WordShare] = []

    def factory(context: Context, judge: object) -> Verifier:
        built.append(
            WordShare(threshold=0.5 if context.verification.verify_threshold is None else 0.9)
        )
        return built[-1]

    monkeypatch.setitem(VERIFIERS, "word-share", factory)
    # a revision round: verify runs twice, draft/reviewers/policy/report read the threshold
    engine = ScriptedEngine({0: 4.0, 1: 8.0})
    context = Context(corpus=str(daily_corpus), llm=engine, verifier="word-share")
    result = run_research(GOAL, context, tmp_path)
    assert result.values["revision_round"] == 1 and len(built) == 1
    report = json.loads(result.report_json.read_text()) if result.report_json else {}
    record = WordShare(threshold=0.5).record()
    assert report["verifier"] == record.report_dict()
    assert "caveat" not in report["verifier"] and "prompts" not in report["verifier"]
    messages = [u["message"] for u in report["uncertainties"]]
    assert record.caveat in messages
    claims = [c for c in report["claims"] if c["dropped_in_round"] is None]
    assert claims and all(c["verified"] == (c["confidence"] >= 0.5) for c in claims)
    # the signals the reviewers scored were measured against the recorded threshold
    assert report["signals"]["threshold"] == 0.5
    md = result.report_md.read_text() if result.report_md else ""
    assert record.description in md


def test_the_record_in_the_state_wins_over_the_context() -> None:
    record = WordShare(threshold=0.42).record()
    state = {"goal": "g", "verifier": record.model_dump()}
    assert recorded_verifier(state, Context(verifier="tfidf")) == record  # type: ignore[arg-type]
    # a state from before the record existed: the context's verifier describes itself
    assert recorded_verifier({"goal": "g"}, Context(verifier="tfidf")).threshold == 0.15  # type: ignore[arg-type]
