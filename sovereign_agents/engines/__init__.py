"""Engines behind the roles: the offline ``ExtractiveEngine`` (extractive.py) and the
``ChatEngine`` of a chat model (chat.py), side by side behind one ``Engine`` protocol
(base.py). ``engine_for(role, context)`` resolves a role's model spec (``model_spec``) once
per run. ``role_step`` turns a role call into a ``steps.Step``: awaited through the engine's
``a<method>`` (the chat engine's ``ainvoke``) when a node runs under ``ainvoke``, else in a
worker thread (the extractive engine is CPU work)."""

from __future__ import annotations

from typing import Any

from sovereign_agents import roles
from sovereign_agents.context import Context
from sovereign_agents.engines.base import Engine, RoleResult
from sovereign_agents.engines.extractive import ExtractiveEngine
from sovereign_agents.model_spec import is_offline, parse_spec
from sovereign_agents.per_run import per_run
from sovereign_agents.steps import Step, either

__all__ = ["EXTRACTIVE", "Engine", "RoleResult", "engine_for", "role_step", "validate_specs"]

EXTRACTIVE = ExtractiveEngine()


def is_extractive(spec: Any) -> bool:
    """The offline spec ('extractive', or none given)."""
    return is_offline(spec)


def is_engine(spec: Any) -> bool:
    """An object that implements the roles itself (e.g. ``testing.ScriptedEngine``)."""
    return all(callable(getattr(spec, m, None)) for m in roles.engine_methods())


def resolve_engine(role: str, context: Context) -> Engine:
    """A new engine for ``role`` under ``context`` (the chat engine falls back by itself)."""
    spec = context.llm_for(role)
    if is_engine(spec):
        engine: Engine = spec
        return engine
    if parse_spec(spec, "llm", f" for role {role}").offline:
        return EXTRACTIVE
    from sovereign_agents.engines.chat import chat_engine

    return chat_engine(spec, role, context)


def engine_for(role: str, context: Context) -> Engine:
    """The engine that runs ``role`` under ``context``, resolved once per run. ``role_step`` turns a role call into a ``steps.Step``: awaited through the engine's
    ``a<method>`` (the chat engine's ``ainvoke``) when a node runs under ``ainvoke``, else in a
    worker thread (the extractive engine is CPU work)."""
    return per_run(context, f"engine:{role}", lambda: resolve_engine(role, context))


def validate_specs(context: Context) -> None:
    """Resolve every role's model spec once, so a bad spec fails before the run starts."""
    for role in roles.model_roles():
        engine_for(role, context)
    from sovereign_agents.embeddings import check_embeddings_spec

    check_embeddings_spec(context.models.embeddings, context.models.llm_base_url)


def role_step(engine: Engine, method: str, *args: Any) -> Step[RoleResult[Any]]:
    """``engine.<method>(*args)`` as a step of a node's body: blocking under ``invoke``;
    under ``ainvoke`` the engine's coroutine ``a<method>`` when it has one, else the blocking
    method in a worker thread (any ``Engine``, e.g. ``testing.ScriptedEngine``)."""
    return either(getattr(engine, method), getattr(engine, f"a{method}", None), *args)
