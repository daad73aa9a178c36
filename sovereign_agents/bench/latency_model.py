"""A chat model that sleeps a fixed latency per call and answers valid JSON for every role.

It stands in for a remote model in the critical-path benchmark: the run's wall time is then
dominated by the sleeps, so it shows whether parallel branches really overlap. The role is
read from the JSON schema the engine asks for (``response_format``), or from the prompt.
Reviewers score ``first_scores`` on their first three calls (forcing a revision when below
the approval threshold) and ``later_score`` after.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

from sovereign_agents.text import keyphrases, split_sentences

_ABSTRACT = re.compile(r"Abstract: (.*?)\nPAPER>>>", re.DOTALL)
_CLAIM_ID = re.compile(r"^(C[0-9a-f]{8}) \|", re.MULTILINE)
_GOAL = re.compile(r"<<<GOAL\n(.*?)\nGOAL>>>|Research goal: (.*)")
_SCHEMAS = {
    "PlanOutput": "plan",
    "ExtractOutput": "extract",
    "DraftOutput": "draft",
    "ReviewOutput": "review",
    "RevisionOutput": "revise",
    "JudgeOutput": "judge",
}
_EVIDENCE = re.compile(r"<<<EVIDENCE\n(.*?)\nEVIDENCE>>>", re.DOTALL)


class LatencyChatModel(BaseChatModel):
    """Sleeps ``latency`` seconds per call, then answers the role's schema. ``ainvoke`` waits
    with ``asyncio.sleep`` (as an HTTP client awaiting a NIM would) and composes its answer in
    a worker thread (a remote model's work, not its client's); every call's waiting
    window is kept in ``windows`` (``perf_counter`` start, end), ``async_calls`` counts the
    calls that came through the async API and ``peak`` the most calls in flight at once."""

    latency: float = 0.2
    first_score: float = 5.0
    later_score: float = 8.0
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _reviews: int = PrivateAttr(default=0)
    _calls: int = PrivateAttr(default=0)
    _async_calls: int = PrivateAttr(default=0)
    _windows: list[tuple[float, float]] = PrivateAttr(default_factory=list)
    _inflight: int = PrivateAttr(default=0)
    _peak: int = PrivateAttr(default=0)

    @property
    def _llm_type(self) -> str:
        return "latency-fake"

    @property
    def calls(self) -> int:
        return self._calls

    @property
    def async_calls(self) -> int:
        return self._async_calls

    @property
    def peak(self) -> int:
        return self._peak

    @property
    def windows(self) -> list[tuple[float, float]]:
        """(start, end) of every call's wait, in ``time.perf_counter`` seconds."""
        with self._lock:
            return list(self._windows)

    def _enter(self) -> float:
        with self._lock:
            self._inflight += 1
            self._peak = max(self._peak, self._inflight)
        return time.perf_counter()

    def _count(self, started: float, *, is_async: bool) -> None:
        with self._lock:
            self._inflight -= 1
            self._calls += 1
            self._async_calls += is_async
            self._windows.append((started, time.perf_counter()))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        started = self._enter()
        time.sleep(self.latency)
        self._count(started, is_async=False)
        return self._result(messages, kwargs)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        started = self._enter()
        await asyncio.sleep(self.latency)
        self._count(started, is_async=True)
        # the answer is the remote model's work, not the client's: composed off the loop, so
        # the async-host bench measures the run's stalls, not the fake's text processing
        return await asyncio.to_thread(self._result, messages, kwargs)

    def _result(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> ChatResult:
        prompt = str(messages[-1].content)
        answer = self.answer(self._role(prompt, kwargs), prompt)
        message = AIMessage(content=json.dumps(answer))
        return ChatResult(generations=[ChatGeneration(message=message)])

    @staticmethod
    def _role(prompt: str, kwargs: dict[str, Any]) -> str:
        schema = (kwargs.get("response_format") or {}).get("schema") or {}
        if schema.get("title") in _SCHEMAS:
            return _SCHEMAS[str(schema["title"])]
        if "<<<PAPER" in prompt:
            return "extract"
        if "<<<EVIDENCE" in prompt:
            return "judge"
        if "drop_claim_ids" in prompt:
            return "revise"
        if "<<<DRAFT" in prompt:
            return "review"
        if "claim_ids" in prompt:
            return "draft"
        return "plan"

    def answer(self, role: str, prompt: str) -> dict[str, Any]:
        goal_match = _GOAL.search(prompt)
        goal = next((g for g in goal_match.groups() if g), "") if goal_match else ""
        if role == "plan":
            return {"queries": keyphrases(goal, 4) or [goal]}
        if role == "extract":
            found = _ABSTRACT.search(prompt)
            sentences = split_sentences(found.group(1)) if found else []
            claims = [{"text": s.text, "evidence": s.text} for s in sentences[:2]]
            return {"claims": [c for c in claims if len(c["text"]) >= 8]}
        if role == "judge":
            evidence = _EVIDENCE.search(prompt)
            quote = " ".join((evidence.group(1) if evidence else "").split()[:8])
            return {"label": "SUPPORT", "quote": quote}
        ids = _CLAIM_ID.findall(prompt)
        if role == "draft":
            sentence = {"text": f"The evidence bears on: {goal}", "claim_ids": ids[:3]}
            return {"answer": [sentence], "abstract": [sentence]}
        if role == "review":
            with self._lock:
                self._reviews += 1
                first = self._reviews <= 3
            score = self.first_score if first else self.later_score
            return {"score": score, "issues": [], "rationale": "scripted by the benchmark"}
        terms = keyphrases(goal, 8)
        return {"queries": terms[-4:] or [goal], "drop_claim_ids": [], "rationale": "benchmark"}
