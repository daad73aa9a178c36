"""Node tracing: one record per node execution, emitted on LangGraph's custom stream.

``@traced("name")`` wraps a node. It times the node, summarises what went in and out, and
collects the model calls made inside it (``record_call``). The records travel on the
``custom`` stream mode as ``{"event": "node", ...}`` so a caller decides where they go:
the CLI appends them to ``trace.jsonl``; an embedding application can forward them anywhere.
Progress events (``{"event": "progress", ...}``) go the same way through ``emit``.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

F = TypeVar("F", bound=Callable[..., Any])

_CALLS: contextvars.ContextVar[list[dict[str, Any]] | None] = contextvars.ContextVar(
    "sovereign_model_calls", default=None
)


def emit(event: dict[str, Any]) -> None:
    """Send an event on the custom stream; a no-op outside a graph run."""
    try:
        from langgraph.config import get_stream_writer

        writer = get_stream_writer()
    except (RuntimeError, ImportError):
        return
    writer(event)


def record_call(call: dict[str, Any]) -> None:
    """Attach a model or service call to the node that is running."""
    calls = _CALLS.get()
    if calls is not None:
        calls.append(call)


def summarize(value: Any) -> Any:
    """A compact, JSON-able description of a state update or node input."""
    if isinstance(value, dict):
        return {str(k): _summarize_value(v) for k, v in value.items()}
    return _summarize_value(value)


def _summarize_value(value: Any) -> Any:
    if isinstance(value, BaseModel):
        data = value.model_dump(mode="json")
        return {k: _summarize_value(v) for k, v in list(data.items())[:6]}
    if isinstance(value, list | tuple):
        return {"items": len(value)}
    if isinstance(value, str):
        return value if len(value) <= 120 else value[:117] + "..."
    if isinstance(value, int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {"keys": len(value)}
    return type(value).__name__


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class _NodeRun:
    """One node execution being traced: its calls, its output, its error."""

    def __init__(self, node: str, state: Any) -> None:
        self.node, self.state = node, state
        self.calls: list[dict[str, Any]] = []
        self.output: Any = None

    @contextlib.contextmanager
    def scope(self) -> Iterator[_NodeRun]:
        token = _CALLS.set(self.calls)
        started, t0 = now_iso(), time.perf_counter()
        error: str | None = None
        try:
            yield self
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            _CALLS.reset(token)
            emit(
                {
                    "event": "node",
                    "node": self.node,
                    "start": started,
                    "end": now_iso(),
                    "seconds": round(time.perf_counter() - t0, 4),
                    "input": summarize(self.state),
                    "output": summarize(self.output) if self.output is not None else None,
                    "calls": self.calls,
                    "error": error,
                }
            )


def traced(node: str) -> Callable[[F], F]:
    """Wrap a node (a function or a coroutine function) so each execution yields one trace
    record on the custom stream."""

    def decorate(fn: F) -> F:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def awrapper(state: Any, *args: Any, **kwargs: Any) -> Any:
                with _NodeRun(node, state).scope() as run:
                    run.output = await fn(state, *args, **kwargs)
                    return run.output

            return awrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(state: Any, *args: Any, **kwargs: Any) -> Any:
            with _NodeRun(node, state).scope() as run:
                run.output = fn(state, *args, **kwargs)
                return run.output

        return wrapper  # type: ignore[return-value]

    return decorate


def message_key(messages: list[Any]) -> str:
    """A content address for a model request: sha256 of its messages' types and contents.

    Replay looks responses up by this key, so it does not depend on the order in which
    parallel nodes made their calls.
    """
    import hashlib
    import json

    canonical = [
        [getattr(m, "type", type(m).__name__), getattr(m, "content", str(m))] for m in messages
    ]
    return hashlib.sha256(json.dumps(canonical, ensure_ascii=False).encode()).hexdigest()


def record_chat_call(
    *,
    role: str,
    prompt_ref: str,
    model: str,
    messages: list[Any],
    response: Any,
    parsed: Any,
    error: str | None,
    latency_s: float,
    attempt: int,
    mode: str | None = None,
    limit: int | None = None,
) -> None:
    """Record one chat-model request (the contract trace, replay and evals read).

    ``messages`` and ``response`` are LangChain messages; they are stored with
    ``messages_to_dict`` so a replay model can rebuild the exact ``AIMessage``. With
    ``limit``, every string of the record is cut at that many characters (``clip``); the
    answers a call accepts are never longer (``max_answer_chars``), so replay is unaffected.
    """
    from langchain_core.messages import BaseMessage, messages_to_dict

    usage = getattr(response, "usage_metadata", None) if response is not None else None
    record: dict[str, Any] = {
        "kind": "chat",
        "role": role,
        "prompt": prompt_ref,
        "model": model,
        "key": message_key(messages),
        "attempt": attempt,
        "mode": mode,
        "messages": messages_to_dict(messages),
        "response": messages_to_dict([response])[0] if isinstance(response, BaseMessage) else None,
        "parsed": parsed.model_dump(mode="json") if isinstance(parsed, BaseModel) else parsed,
        "error": error,
        "latency_s": round(latency_s, 4),
        "tokens": dict(usage) if usage else None,
    }
    record_call(clip(record, limit) if limit is not None else record)


def clip(value: Any, limit: int) -> Any:
    """``value`` (JSON-like) with every string longer than ``limit`` cut, marked where it was."""
    if isinstance(value, str):
        if len(value) <= limit:
            return value
        return value[:limit] + f"…[truncated: {len(value) - limit:,} of {len(value):,} chars]"
    if isinstance(value, dict):
        return {k: clip(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [clip(v, limit) for v in value]
    return value


def text_key(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:24]
