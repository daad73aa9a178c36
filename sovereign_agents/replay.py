"""Replay a recorded run offline: the recorded answers of every model, embedding and search.

A run's ``trace.jsonl`` holds every call a node made. ``Recording`` indexes them, and three
stand-ins serve them back:

* ``ReplayChatModel`` -- a LangChain chat model that answers each request with the response
  recorded for the same messages (content-addressed by ``tracing.message_key``, so the order
  in which parallel nodes ask does not matter; repeated identical requests are served in
  their recorded order);
* ``ReplayEmbeddings`` -- the recorded vector of each text;
* ``ReplaySearch`` -- the recorded results of each query and the recorded paper look-ups.

``replay_context`` builds the run's context with them in place of the real services, so
``graph.invoke`` re-executes every node -- breakpoints and all -- with no network and no
model, and reaches the same claims, scores and verdict.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, messages_from_dict
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel, ConfigDict, PrivateAttr

from sovereign_agents.context import Context
from sovereign_agents.errors import InputError
from sovereign_agents.model_spec import is_offline, is_spec_string
from sovereign_agents.roles import model_roles
from sovereign_agents.schemas import Paper
from sovereign_agents.tracing import message_key, text_key
from sovereign_agents.wording import count


class ReplayMiss(Exception):
    """A request the recording holds no answer for: the replay has diverged."""


def read_trace(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise InputError(f"no trace at {path}: is this a run folder?")
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise InputError(f"{path}:{n}: not a JSON line ({str(exc)[:100]})") from exc
        if not isinstance(record, dict):
            raise InputError(f"{path}:{n}: not a trace record (a JSON object)")
        records.append(record)
    return records


@dataclass
class Recording:
    """Every call of a recorded run, indexed for replay."""

    chat: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    role_models: dict[str, str] = field(default_factory=dict)
    vectors: dict[str, list[float]] = field(default_factory=dict)
    embedding_model: dict[str, Any] = field(default_factory=dict)
    searches: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    lookups: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    backend: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_trace(cls, path: Path) -> Recording:
        recording = cls()
        for record in read_trace(path):
            for call in record.get("calls") or []:
                recording.add(call)
        return recording

    def add(self, call: dict[str, Any]) -> None:
        kind = call.get("kind")
        if kind == "chat":
            self.chat[call["key"]].append(call)
            self.role_models.setdefault(call["role"], call["model"])
        elif kind == "embeddings":
            self.vectors.update(call["vectors"])
            self.embedding_model = {k: call.get(k) for k in ("model", "dim", "fitted_on")}
        elif kind == "search":
            self.searches[(call["query"], int(call["k"]))] = call["results"]
            self.backend = {"name": call["backend"], "describe": call.get("describe", "")}
        elif kind == "lookup":
            self.lookups[call["paper_id"]] = call["paper"]
            self.backend = {"name": call["backend"], "describe": call.get("describe", "")}


class ReplayChatModel(BaseChatModel):
    """Answers each request with the response recorded for the same messages."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model: str = "replay"
    recording: Any = None
    _served: dict[str, int] = PrivateAttr(default_factory=dict)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "sovereign-replay"

    def _next(self, messages: list[BaseMessage]) -> dict[str, Any]:
        key = message_key(messages)
        answered = [c for c in self.recording.chat.get(key, []) if c.get("response")]
        calls = answered or self.recording.chat.get(key, [])
        if not calls:
            raise ReplayMiss(f"no recorded answer for this request (key {key[:12]})")
        with self._lock:
            index = self._served.get(key, 0)
            self._served[key] = index + 1
        call = calls[min(index, len(calls) - 1)]
        if not call.get("response"):  # the recorded request failed: fail the same way
            raise ReplayMiss(f"recorded failure replayed: {call.get('error')}")
        return call

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = self._next(messages)
        message = messages_from_dict([call["response"]])[0]
        if call.get("parsed") is not None and not str(message.content).strip():
            message = AIMessage(content=json.dumps(call["parsed"]))  # tool-call answers
        return ChatResult(generations=[ChatGeneration(message=message)])

    def with_structured_output(
        self, schema: Any, *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[Any, Any]:
        """Serve the recorded parse (or the recorded parsing failure) of each request."""

        def answer(messages: Any) -> Any:
            batch = messages.to_messages() if hasattr(messages, "to_messages") else messages
            call = self._next(list(batch))
            raw = messages_from_dict([call["response"]])[0]
            parsed = call.get("parsed")
            value = (
                schema.model_validate(parsed)
                if parsed is not None and isinstance(schema, type) and issubclass(schema, BaseModel)
                else parsed
            )
            if not include_raw:
                return value
            error = None if value is not None else (call.get("error") or "no parse")
            return {"raw": raw, "parsed": value, "parsing_error": error}

        return RunnableLambda(answer)


class ReplayEmbeddings(Embeddings):
    """The recorded vector of each text (keyed by a hash of the text)."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.model = str(recording.embedding_model.get("model") or "replay")
        self.dimensions = recording.embedding_model.get("dim")
        self.fitted_on = recording.embedding_model.get("fitted_on")

    def _vector(self, text: str) -> list[float]:
        vector = self.recording.vectors.get(text_key(text))
        if vector is None:
            raise ReplayMiss("no recorded embedding for this text")
        return vector

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


class ReplaySearch:
    """The recorded results of each query, and the recorded paper look-ups."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.name = recording.backend.get("name", "replay")

    def search(self, query: str, k: int) -> list[tuple[Paper, float]]:
        results = self.recording.searches.get((query, k))
        if results is None:
            raise ReplayMiss(f"no recorded search for {query!r} (k={k})")
        return [(Paper.model_validate(r["paper"]), float(r["score"])) for r in results]

    def get(self, paper_id: str) -> Paper | None:
        if paper_id not in self.recording.lookups:
            raise ReplayMiss(f"no recorded look-up of paper {paper_id}")
        paper = self.recording.lookups[paper_id]
        return Paper.model_validate(paper) if paper else None

    def describe(self) -> str:
        return self.recording.backend.get("describe") or "replayed search"


def replay_context(run_dir: Path, **overrides: Any) -> Context:
    """The recorded run's context, with replay stand-ins for every outside service."""
    from sovereign_agents.runner import read_run, recorded_knobs

    recorded = recorded_knobs(read_run(run_dir))
    recording = Recording.from_trace(run_dir / "trace.jsonl")
    values: dict[str, Any] = {
        **recorded,
        "search": ReplaySearch(recording),
        "embeddings": ReplayEmbeddings(recording) if recording.vectors else "lsa",
        "model_cache": False,
    }
    role_specs = {
        role: (recorded.get("role_llms") or {}).get(role, recorded.get("llm"))
        for role in model_roles()
    }
    modelled = {r: spec for r, spec in role_specs.items() if not is_offline(spec)}
    if modelled:
        if not recording.role_models and not any(
            isinstance(spec, str) and is_spec_string(spec) for spec in modelled.values()
        ):
            raise InputError(
                f"{run_dir} ran on a Python engine object ({recorded.get('llm')}) that records "
                "no model calls; replay needs a run made with 'extractive' or a chat model"
            )
        first = next(iter(recording.role_models.values()), "replay")
        values["llm"] = "extractive"
        values["role_llms"] = {
            role: ReplayChatModel(model=recording.role_models.get(role, first), recording=recording)
            for role in modelled
        }
        values["model_http_retries"] = 0
    values.update(overrides)
    return Context(**values)


# --- comparing two runs -------------------------------------------------------------------


def outcome(report: dict[str, Any]) -> dict[str, Any]:
    """What a replay must reproduce: claims with verdicts and confidences, scores, verdict."""
    tribunal = report.get("tribunal", {})
    return {
        "claims": sorted(
            (c.get("id"), c["text"], c["verified"], c["confidence"])
            for c in report.get("claims", [])
        ),
        "papers": sorted(p["id"] for p in report.get("papers", [])),
        "reviews": sorted((r["role"], r["score"]) for r in tribunal.get("reviews", [])),
        "score": tribunal.get("score"),
        "revision_round": tribunal.get("revision_round"),
        "verdict": report.get("verdict"),
        "policy": report.get("policy"),
    }


def differences(first: dict[str, Any], second: dict[str, Any]) -> Iterator[str]:
    a, b = outcome(first), outcome(second)
    for key in a:
        if a[key] != b[key]:
            yield key


def summarize_outcome(report: dict[str, Any]) -> str:
    o = outcome(report)
    n_verified = sum(1 for c in o["claims"] if c[2])
    return (
        f"{count(len(o['papers']), 'paper')}, {count(len(o['claims']), 'claim')} "
        f"({n_verified} verified), "
        f"reviews {dict(o['reviews'])}, score {o['score']}, {o['verdict']}, {o['policy']}"
    )
