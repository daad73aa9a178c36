"""One structured request to a chat model: the right request mode, retries, validation.

Modes, tried in order and remembered per model once one is found unsupported:

* ``structured``: ``with_structured_output(schema, include_raw=True)``;
* ``json_mode``: ``response_format={"type": "json_object", "schema": ...}`` (what an
  OpenAI-compatible llama.cpp server accepts where it refuses ``json_schema``);
* ``prompt``: the prompt's own "answer with JSON only", parsed from the text.

``call_structured`` blocks; ``acall_structured`` is the same call awaited on an event loop
(the model's ``ainvoke``; the backoff with ``asyncio.sleep``; the deadline with
``asyncio.timeout``): one body (``_call``, a ``steps.Body``), two drivers.

HTTP 429, 5xx and connection failures are retried with backoff, honouring Retry-After. An
answer that is not valid for the schema is sent back with the validation error, a bounded
number of times. Every request is recorded (``tracing.record_chat_call``). This stays one
loop rather than tenacity or a node ``RetryPolicy``: one call moves along three axes at
once (request mode, HTTP retries with the server's Retry-After, output re-asks with a
growing conversation), and a role that still fails falls back instead of raising, so a node
never sees the failure. The clients' own retries are off (``max_retries=0`` where the client
has them): attempts are ``1 + model_http_retries`` per mode, never multiplied.

Each request carries ``call_config`` (role, prompt ``id@version``, round): the metadata a
LangSmith trace or a host's callback handler sees, under the node's own config.

Answers are bounded and cleaned where they enter the run: an answer longer than
``CallPolicy.max_answer_chars`` fails the call (``AnswerTooLarge``, not retried: the model
would say it again), and every answer, raw and parsed, is redacted (``redaction``) before it
is parsed, cached, traced or written to the state.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import BaseModel, ValidationError

from sovereign_agents.context import MAX_ANSWER_CHARS
from sovereign_agents.http_limits import deadline_scope
from sovereign_agents.models.call_cache import ModelCallCache
from sovereign_agents.models.call_config import call_config
from sovereign_agents.models.errors import classify
from sovereign_agents.models.specs import endpoint_of
from sovereign_agents.redaction import redact, redact_data, secret_values
from sovereign_agents.steps import Body, Step, adrive, drive, either
from sovereign_agents.tracing import record_chat_call
from sovereign_agents.wording import count

S = TypeVar("S", bound=BaseModel)
MODES = ("structured", "json_mode", "prompt")
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


class OutputInvalid(Exception):
    """The model's answers stayed invalid for the schema after the allowed retries."""

    def __init__(self, message: str, calls: int = 0) -> None:
        super().__init__(message)
        self.calls = calls


class AnswerTooLarge(Exception):
    """The model's answer was longer than the run allows (``max_answer_chars``)."""


class CallFailed(Exception):
    """The model could not be reached, or refused, after the allowed retries."""

    def __init__(self, message: str, calls: int = 0) -> None:
        super().__init__(message)
        self.calls = calls


@dataclass
class CallPolicy:
    http_retries: int = 3
    output_retries: int = 2
    backoff: float = 1.0
    max_wait: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    first_mode: str | None = None  # start the ladder here (default: what worked last time)
    max_answer_chars: int = MAX_ANSWER_CHARS  # longer answers fail the call
    deadline_s: float | None = None  # one deadline for all HTTP requests of one attempt


@dataclass
class CallOutcome:
    value: BaseModel
    calls: int
    mode: str
    notes: list[str] = field(default_factory=list)


V = TypeVar("V")


class _PerModel(Generic[V]):
    """A value per live model object. Keyed by ``id`` with a weak reference beside it: an id
    that Python reused for a new model (the old one collected) does not hand the new model
    the old one's value, and the table does not keep models alive. (Chat models are pydantic
    objects, not hashable, so no WeakKeyDictionary.) Callers hold ``_MODE_LOCK``."""

    def __init__(self) -> None:
        self._items: dict[int, tuple[Callable[[], object], V]] = {}

    def get(self, model: object) -> V | None:
        entry = self._items.get(id(model))
        if entry is None or entry[0]() is not model:
            return None
        return entry[1]

    def set(self, model: object, value: V) -> None:
        key = id(model)
        try:
            ref: Callable[[], object] = weakref.ref(model, lambda dead: self._forget(key, dead))
        except TypeError:  # an object without weak references: kept alive while remembered

            def ref() -> object:
                return model

        self._items[key] = (ref, value)

    def _forget(self, key: int, dead: object) -> None:
        entry = self._items.get(key)
        if entry is not None and entry[0] is dead:  # not a newer model's entry
            self._items.pop(key, None)


_MODE_BY_MODEL: _PerModel[int] = _PerModel()
_MODE_LOCK = threading.Lock()


def _start_mode(model: BaseChatModel) -> int:
    with _MODE_LOCK:
        return _MODE_BY_MODEL.get(model) or 0


_PROBES: _PerModel[threading.Event] = _PerModel()
PROBE_WAIT_S = 300.0


def _probe_event(model: BaseChatModel) -> threading.Event | None:
    """The first request to a model finds out which mode it accepts while the others wait, so
    a fan-out of parallel calls (the judge, the extractors) does not send every one of them
    in a mode the server refuses. None for the caller that probes; the others wait for the
    event it returns."""
    with _MODE_LOCK:
        event = _PROBES.get(model)
        if event is None:
            _PROBES.set(model, threading.Event())
        return event


def _await_probe(model: BaseChatModel, timeout: float = PROBE_WAIT_S) -> bool:
    """True for the caller that probes; the others wait (blocking) until it found a mode."""
    event = _probe_event(model)
    if event is None:
        return True
    event.wait(timeout)
    return False


async def _await_probe_async(model: BaseChatModel, timeout: float = PROBE_WAIT_S) -> bool:
    """``_await_probe`` on an event loop: the others poll the event without blocking it."""
    event = _probe_event(model)
    if event is None:
        return True
    give_up = time.monotonic() + timeout
    while not event.is_set() and time.monotonic() < give_up:
        await asyncio.sleep(0.01)
    return False


def _end_probe(model: BaseChatModel) -> None:
    with _MODE_LOCK:
        event = _PROBES.get(model)
    if event is not None:
        event.set()


def _downgrade(model: BaseChatModel, mode: int) -> int:
    with _MODE_LOCK:
        downgraded = max(_MODE_BY_MODEL.get(model) or 0, mode + 1)
        _MODE_BY_MODEL.set(model, downgraded)
        return downgraded


def extract_json(text: str) -> Any:
    """The JSON object in a model's text: fenced, bare, or embedded in prose."""
    fenced = _FENCE.search(text)
    candidate = fenced.group(1) if fenced else text
    start = candidate.find("{")
    if start < 0:
        raise ValueError("no JSON object in the answer")
    decoder = json.JSONDecoder(strict=False)  # raw newlines inside strings are common
    value, _ = decoder.raw_decode(candidate[start:])
    return value


def _invoke(
    runnable: Runnable[Any, Any],
    messages: list[BaseMessage],
    config: RunnableConfig | None,
    awaitable: bool = True,
) -> Step[Any]:
    """``invoke`` blocking, ``ainvoke`` awaited (a model object without one, or one whose
    ``ainvoke`` would drop its HTTP bounds: ``invoke`` in a worker thread); each with the
    call's ``config``."""
    arun = getattr(runnable, "ainvoke", None) if awaitable else None
    return either(runnable.invoke, arun, messages, config)


def awaits_bounded(model: BaseChatModel) -> bool:
    """Whether the model's ``ainvoke`` keeps its HTTP bounds (``http_limits``: deadline, body
    cap, Retry-After). Not for an NVIDIA client bounded on its ``requests`` session only
    (``models.specs.instrument_http`` marks it): its ``ainvoke`` would go through an unbounded
    aiohttp session, so under ``ainvoke`` it is called blocking in a worker thread."""
    session = getattr(getattr(model, "_client", None), "get_session_fn", None)
    return not getattr(session, "bounds_blocking_only", False)


def _request_step(
    model: BaseChatModel,
    mode: str,
    schema: type[S],
    messages: list[BaseMessage],
    deadline_s: float | None,
    config: RunnableConfig | None = None,
) -> Step[tuple[AIMessage, S | None, str | None]]:
    """One request in ``mode`` under one deadline for all its HTTP requests: blocking
    (``deadline_scope``) or awaited (``asyncio.timeout``)."""

    def run() -> tuple[AIMessage, S | None, str | None]:
        with deadline_scope(deadline_s):
            return drive(_request(model, mode, schema, messages, config))

    async def arun() -> tuple[AIMessage, S | None, str | None]:
        async with asyncio.timeout(deadline_s):
            return await adrive(_request(model, mode, schema, messages, config), offload=True)

    return Step(run, arun)


def _request(
    model: BaseChatModel,
    mode: str,
    schema: type[S],
    messages: list[BaseMessage],
    config: RunnableConfig | None = None,
) -> Body[tuple[AIMessage, S | None, str | None]]:
    """One request in ``mode``: (raw answer, parsed value or None, parse error or None)."""
    native = awaits_bounded(model)
    if mode == "structured":
        try:
            out = yield _invoke(
                model.with_structured_output(schema, include_raw=True), messages, config, native
            )
        except NotImplementedError as exc:
            if "include_raw" not in str(exc):
                raise
            out = yield _invoke(model.with_structured_output(schema), messages, config, native)
        raw = out["raw"] if isinstance(out, dict) else None
        parsed = out.get("parsed") if isinstance(out, dict) else out
        if isinstance(parsed, dict):
            parsed = schema.model_validate(parsed)
        error = out.get("parsing_error") if isinstance(out, dict) else None
        if not isinstance(raw, AIMessage):
            raw = AIMessage(content=json.dumps(parsed.model_dump()) if parsed else "")
        return raw, parsed if isinstance(parsed, schema) else None, str(error) if error else None
    if mode == "json_mode":
        bound = model.bind(
            response_format={"type": "json_object", "schema": schema.model_json_schema()}
        )
        raw = yield _invoke(bound, messages, config, native)
    else:
        raw = yield _invoke(model, messages, config, native)
    if not isinstance(raw, AIMessage):
        raw = AIMessage(content=str(getattr(raw, "content", raw)))
    return raw, *parse(raw, schema)


def answer_chars(raw: AIMessage) -> int:
    """The size of an answer: its text, tool calls and extra fields, in characters."""
    content = raw.content if isinstance(raw.content, str) else json.dumps(raw.content)
    extra = json.dumps([raw.tool_calls, raw.additional_kwargs], default=str)
    return len(content) + (len(extra) if raw.tool_calls or raw.additional_kwargs else 0)


def scrub(
    raw: AIMessage, parsed: S | None, error: str | None, schema: type[S]
) -> tuple[AIMessage, S | None, str | None]:
    """The answer with every secret redacted (a model may echo the key it was called with)."""
    secrets = secret_values()
    dumped = raw.model_dump()
    clean = redact_data(dumped, secrets)
    if clean != dumped:
        raw = AIMessage.model_validate(clean)
    if parsed is not None:
        values = parsed.model_dump()
        cleaned = redact_data(values, secrets)
        if cleaned != values:
            parsed = schema.model_validate(cleaned)
    return raw, parsed, redact(error, secrets) if error else None


def parse(raw: AIMessage, schema: type[S]) -> tuple[S | None, str | None]:
    text = raw.content if isinstance(raw.content, str) else json.dumps(raw.content)
    if not text.strip():
        return None, "the answer was empty"
    try:
        return schema.model_validate(extract_json(text)), None
    except (ValueError, ValidationError) as exc:
        return None, " ".join(str(exc).split())[:600]


def call_structured(
    model: BaseChatModel,
    messages: list[BaseMessage],
    schema: type[S],
    *,
    role: str,
    prompt_ref: str,
    model_label: str,
    policy: CallPolicy | None = None,
    cache: ModelCallCache | None = None,
    config: RunnableConfig | None = None,
) -> CallOutcome:
    """``config``: the LangChain config of each request (default: ``call_config(role,
    prompt_ref)``: the role, prompt and round every callback handler sees)."""
    return drive(
        _call(model, messages, schema, role, prompt_ref, model_label, policy, cache, config)
    )


async def acall_structured(
    model: BaseChatModel,
    messages: list[BaseMessage],
    schema: type[S],
    *,
    role: str,
    prompt_ref: str,
    model_label: str,
    policy: CallPolicy | None = None,
    cache: ModelCallCache | None = None,
    config: RunnableConfig | None = None,
) -> CallOutcome:
    """``call_structured`` awaited: the same ladder, retries and records."""
    return await adrive(
        _call(model, messages, schema, role, prompt_ref, model_label, policy, cache, config),
        offload=True,  # the cache, the records, the redaction: off the loop
    )


async def _asleep(policy: CallPolicy, seconds: float) -> None:
    """The backoff on a loop: ``asyncio.sleep``, unless the policy sleeps its own way (a
    test's recorder), which is called as it is."""
    if policy.sleep is time.sleep:
        await asyncio.sleep(seconds)
    else:
        policy.sleep(seconds)


def _call(
    model: BaseChatModel,
    messages: list[BaseMessage],
    schema: type[S],
    role: str,
    prompt_ref: str,
    model_label: str,
    policy: CallPolicy | None,
    cache: ModelCallCache | None,
    config: RunnableConfig | None,
) -> Body[CallOutcome]:
    """The whole call: wait for (or be) the probe of the model's mode, then the ladder."""
    policy = policy or CallPolicy()
    config = config if config is not None else call_config(role, prompt_ref)
    probing = policy.first_mode is None and (
        yield Step(
            functools.partial(_await_probe, model), functools.partial(_await_probe_async, model)
        )
    )
    try:
        return (
            yield from _ladder(
                model,
                messages,
                schema,
                role,
                prompt_ref,
                model_label,
                policy,
                cache,
                probing,
                config,
            )
        )
    finally:
        if probing:
            _end_probe(model)


def _ladder(
    model: BaseChatModel,
    messages: list[BaseMessage],
    schema: type[S],
    role: str,
    prompt_ref: str,
    model_label: str,
    policy: CallPolicy,
    cache: ModelCallCache | None,
    probing: bool,
    config: RunnableConfig,
) -> Body[CallOutcome]:
    conversation = list(messages)
    calls, notes = 0, []
    endpoint = endpoint_of(model)
    if cache is not None:
        notes += cache.take_notices()
    mode_index = MODES.index(policy.first_mode) if policy.first_mode else _start_mode(model)
    http_attempt = output_attempt = 0
    while True:
        mode = MODES[min(mode_index, len(MODES) - 1)]
        key = (
            cache.key(model_label, mode, schema.model_json_schema(), conversation, endpoint)
            if cache
            else None
        )
        cached = cache.get(key) if cache and key else None
        started = time.perf_counter()
        raw: AIMessage | None = None
        parsed: S | None = None
        error: str | None = None
        try:
            if cached is not None and answer_chars(cached) <= policy.max_answer_chars:
                raw = cached
                parsed, error = parse(raw, schema)
            else:
                cached = None
                calls += 1
                raw, parsed, error = yield _request_step(
                    model, mode, schema, conversation, policy.deadline_s, config
                )
                size = answer_chars(raw)
                if size > policy.max_answer_chars:
                    raw = parsed = None
                    raise AnswerTooLarge(
                        f"the answer had {size:,} characters, over max_answer_chars="
                        f"{policy.max_answer_chars:,}"
                    )
                raw, parsed, error = scrub(raw, parsed, error, schema)
        except Exception as exc:
            if isinstance(exc, NotImplementedError):
                calls -= 1  # refused locally by the client: no request reached the model
            failure = classify(exc)
            record_chat_call(
                role=role,
                prompt_ref=prompt_ref,
                model=model_label,
                messages=conversation,
                response=None,
                parsed=None,
                error=f"{mode}: {failure.message}",
                latency_s=time.perf_counter() - started,
                attempt=calls,
                mode=mode,
                limit=policy.max_answer_chars,
            )
            if failure.unsupported and mode_index < len(MODES) - 1:
                mode_index = _downgrade(model, mode_index)
                if probing:
                    _end_probe(model)  # the others start in the mode found so far
                notes.append(
                    f"{mode} unsupported ({failure.message[:120]}); switched to {MODES[mode_index]}"
                )
                continue
            if failure.retryable and http_attempt < policy.http_retries:
                wait = (
                    failure.retry_after
                    if failure.retry_after is not None
                    else policy.backoff * 2**http_attempt
                )
                http_attempt += 1
                pause = min(wait, policy.max_wait)
                yield either(policy.sleep, functools.partial(_asleep, policy), pause)
                continue
            raise CallFailed(f"{failure.message} (after {count(calls, 'call')})", calls) from exc
        if probing:
            _end_probe(model)  # a mode that answers: the waiting calls may go
        record_chat_call(
            role=role,
            prompt_ref=prompt_ref,
            model=model_label,
            messages=conversation,
            response=raw,
            parsed=parsed,
            error=error,
            latency_s=time.perf_counter() - started,
            attempt=calls,
            mode=mode,
            limit=policy.max_answer_chars,
        )
        if cache is not None:
            notes += cache.take_notices()
        if parsed is not None:
            if cache and key and cached is None:
                cache.put(key, raw)
            return CallOutcome(parsed, calls, mode, notes)
        if output_attempt >= policy.output_retries:
            raise OutputInvalid(
                f"invalid output after {count(output_attempt + 1, 'answer')}: {error}", calls
            )
        output_attempt += 1
        conversation = [
            *conversation,
            raw,
            HumanMessage(
                content=(
                    f"That answer is not valid: {error}. Reply again with one JSON object only, "
                    f"matching this JSON schema: {json.dumps(schema.model_json_schema())}"
                )
            ),
        ]
