"""What every node uses: the run's context, ours even when a host graph runs us.

Under a parent graph with its own ``context_schema`` our nodes receive the parent's
context object. The parent hands ours down in one of two ways (README, "Embedding in your
graph"):

- a field or key ``sovereign`` of its context: a ``Context``, a preset name
  (``"offline"``), or a dict of knobs (``{"preset": "reference", "max_papers": 6}``);
- ``build_graph(context=...)``: a default bound to the compiled graph, used whenever the
  run's context is not ours (none, or the host's with no ``sovereign`` value).

A ``sovereign`` field left empty (None) means the defaults, as no context does. A host
context without the field and no bound default is a ``ContextError`` saying what to do, not
an AttributeError half-way through a node.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
from collections.abc import Mapping
from typing import Any

from langgraph.runtime import Runtime

from sovereign_agents import presets
from sovereign_agents.context import Context
from sovereign_agents.errors import ContextError

HAND_DOWN = "sovereign"  # the field of a host's context that carries ours
BOUND_KEY = "__sovereign_context__"  # where build_graph(context=...) keeps its default
PRESET_KEY = "preset"  # in a handed-down dict of knobs: the preset they apply over
ENV_PREFIX = "SOVEREIGN_"  # context knobs fall back to these variables (context.py)

_ABSENT = object()  # a host context without a `sovereign` field


def context_of(runtime: Runtime[Any] | None) -> Context:
    """The run's ``Context``: the run's own; else what a host handed down in its context's
    ``sovereign`` field; else the graph's bound default (``build_graph(context=...)``);
    else, with no context at all (or a ``sovereign`` field left empty), the defaults."""
    context: Any = getattr(runtime, "context", None)
    if isinstance(context, Context):
        return context
    handed = _handed_down(context)
    if handed is not None and handed is not _ABSENT:
        return as_context(handed, source=f"the {HAND_DOWN!r} field of the run's context")
    if isinstance(context, Mapping) and _all_ours(context):
        return as_context(context)
    bound = _bound_default()
    if bound is not None:
        return bound
    if context is None or handed is None:  # the host declares the field and left it empty
        return Context()
    if isinstance(context, Mapping) and any(_is_knob(key) for key in context):
        return as_context(context)  # our dict with a wrong key: the error names it
    raise ContextError(foreign_context_message(context))


def as_context(value: Any, *, source: str = "the context") -> Context:
    """A ``Context`` from what a host may hand down: a ``Context``, a preset name, or a
    mapping of knobs (flat, dotted or grouped keys; a ``"preset"`` key starts from that
    preset). Plain values (names and numbers) are resolved once and memoized by content."""
    if isinstance(value, Context):
        return value
    if isinstance(value, str):
        return _from_preset(_preset_name(value, source), {})
    if isinstance(value, Mapping):
        knobs = dict(value)
        name = knobs.pop(PRESET_KEY, None)
        if name is None:
            return _memoized(None, knobs)
        return _from_preset(_preset_name(name, source), knobs)
    raise ContextError(
        f"{source} is a {type(value).__name__}: give a sovereign_agents Context, a preset "
        f"name ({', '.join(presets.PRESETS)}) or a dict of knobs"
    )


def foreign_context_message(context: Any) -> str:
    kind = type(context).__name__
    typo = ""
    if isinstance(context, Mapping):
        kind = f"{kind} with keys {sorted(map(str, context))[:6]}"
        if any(_near_knob(key) for key in context):  # perhaps ours, misspelt: say which
            try:
                Context(**context)
            except ContextError as exc:
                typo = f"; if it is meant as ours: {exc}"
    return (
        f"the run's context ({kind}) is not a sovereign_agents Context: a parent graph "
        f"hands ours down as a field {HAND_DOWN!r} of its context (a Context, a preset name "
        f"such as 'offline', or a dict of knobs), or binds one with "
        f"build_graph(context=...){typo}"
    )


def _handed_down(context: Any) -> Any:
    """The host context's ``sovereign`` value (None when left empty), or ``_ABSENT``."""
    if context is None:
        return _ABSENT
    if isinstance(context, Mapping):
        return context.get(HAND_DOWN, _ABSENT)
    return getattr(context, HAND_DOWN, _ABSENT)


def _is_knob(key: Any) -> bool:
    if not isinstance(key, str):
        return False
    return key in KNOWN_KEYS or key.partition(".")[0] in KNOWN_KEYS


def _near_knob(key: Any) -> bool:
    """A misspelt knob (as close as the error's "did you mean" suggestion)."""
    return isinstance(key, str) and bool(difflib.get_close_matches(key, KNOWN_KEYS, 1, 0.85))


def _all_ours(context: Mapping[Any, Any]) -> bool:
    return all(_is_knob(key) for key in context)


def _bound_default() -> Context | None:
    try:
        from langgraph.config import get_config

        configurable = get_config().get("configurable") or {}
    except RuntimeError:  # called outside a run (a node called directly)
        return None
    bound = configurable.get(BOUND_KEY)
    return bound if isinstance(bound, Context) else None


def _preset_name(name: Any, source: str) -> str:
    if not isinstance(name, str) or name not in presets.PRESETS:
        raise ContextError(
            f"{source} names an unknown preset {name!r}: use one of {', '.join(presets.PRESETS)}"
        )
    return name


def _from_preset(name: str, knobs: dict[str, Any]) -> Context:
    """``Context.preset(name, **knobs)``, memoized by the preset's values as they read now
    (a preset may read the environment) and the knobs; its checks run every time."""
    chosen = presets.preset(name)
    context = _memoized(name, knobs, chosen.values())
    chosen.check(context)
    return context


def _memoized(preset: str | None, knobs: dict[str, Any], *salt: Any) -> Context:
    """``Context.preset(preset, **knobs)`` (``Context(**knobs)`` without a preset), memoized
    by content when the knobs are plain JSON (a model object or a path object is built every
    time: equal text need not be the same object). The key also holds the ``SOVEREIGN_*``
    environment that knobs fall back to, and any ``salt`` the caller's values depend on."""
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith(ENV_PREFIX))
    try:
        key = json.dumps([preset, knobs, env, salt], sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):
        return _build(preset, knobs)
    return _built_from(key)


@functools.lru_cache(maxsize=32)
def _built_from(key: str) -> Context:
    preset, knobs, _env, _salt = json.loads(key)
    return _build(preset, knobs)


def _build(preset: str | None, knobs: dict[str, Any]) -> Context:
    return Context(**knobs) if preset is None else Context.preset(preset, **knobs)


KNOWN_KEYS = frozenset(Context.known_keys())
