"""The LangChain config of every model call: what LangSmith (or any callback handler) sees.

One home for it (``call_config``), so the sync and async call paths label calls the same
way: metadata ``role``, ``prompt`` (``id@version``) and ``round`` (and ``run_id`` when the
caller knows it), tags ``sovereign`` and ``role:<role>``, run name ``sovereign.<role>``.

The host's own config is kept: a call made inside a graph node inherits the node's config
through LangChain's context variable (its callbacks, so a handler given to
``graph.invoke(config={"callbacks": [...]})`` sees our model calls; its tags and metadata,
merged under ours). ``model_round`` marks the round for calls whose API has none (the stance
judge, called through the verifier).
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import var_child_runnable_config

T = TypeVar("T")
TAG = "sovereign"
_ROUND: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "sovereign_model_round", default=None
)


@contextmanager
def model_round(round: int) -> Iterator[None]:
    """Model calls made inside this block (and threads copying its context) are of ``round``."""
    token = _ROUND.set(round)
    try:
        yield
    finally:
        _ROUND.reset(token)


def in_round(round: int, fn: Callable[..., T]) -> Callable[..., T]:
    """``fn`` whose model calls are of ``round`` (a ``model_round`` around each call; not
    around a node body's ``yield``: under ``ainvoke`` a body's code runs in worker threads,
    each with its own copy of the context)."""

    def call(*args: Any, **kwargs: Any) -> T:
        with model_round(round):
            return fn(*args, **kwargs)

    return call


def in_round_async(round: int, fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """``in_round`` for a coroutine function: the round holds in the awaiting task."""

    async def call(*args: Any, **kwargs: Any) -> T:
        with model_round(round):
            return await fn(*args, **kwargs)

    return call


def current_round() -> int | None:
    return _ROUND.get()


def call_config(
    role: str, prompt_ref: str, round: int | None = None, run_id: str | None = None
) -> RunnableConfig:
    """The config of one model call of ``role`` with the prompt ``prompt_ref`` (``id@vN``);
    ``round`` defaults to the enclosing ``model_round``."""
    parent: dict[str, Any] = dict(var_child_runnable_config.get() or {})
    round = current_round() if round is None else round
    metadata: dict[str, Any] = {
        **(parent.get("metadata") or {}),
        "role": role,
        "prompt": prompt_ref,
        "round": round,
    }
    if run_id:
        metadata["run_id"] = run_id
    tags = list(dict.fromkeys([*(parent.get("tags") or []), TAG, f"role:{role}"]))
    return RunnableConfig(metadata=metadata, tags=tags, run_name=f"{TAG}.{role}")
