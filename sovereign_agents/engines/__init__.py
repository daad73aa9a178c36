"""Engines behind the roles: the offline extractive engine, or a chat model."""

from __future__ import annotations

from typing import Any

from sovereign_agents import roles
from sovereign_agents.context import Context
from sovereign_agents.engines.base import Engine, RoleResult
from sovereign_agents.engines.extractive import ExtractiveEngine
from sovereign_agents.errors import ConfigError

__all__ = ["EXTRACTIVE", "Engine", "RoleResult", "engine_for", "validate_specs"]

EXTRACTIVE = ExtractiveEngine()


def is_extractive(spec: Any) -> bool:
    return spec is None or (isinstance(spec, str) and spec in ("", "extractive"))


def is_engine(spec: Any) -> bool:
    """An object that implements the roles itself (e.g. ``testing.ScriptedEngine``)."""
    return all(callable(getattr(spec, m, None)) for m in roles.engine_methods())


def engine_for(role: str, context: Context) -> Engine:
    """The engine that runs ``role`` under ``context`` (the chat engine falls back by itself)."""
    spec = context.llm_for(role)
    if is_extractive(spec):
        return EXTRACTIVE
    if is_engine(spec):
        return spec
    if isinstance(spec, str) and not spec.startswith("nvidia:"):
        raise ConfigError(
            f"unknown llm spec {spec!r} for role {role}: use 'extractive', 'nvidia:<model>', "
            "or pass a LangChain chat model through the Python API"
        )
    from sovereign_agents.models import chat_engine

    return chat_engine(spec, role, context)


def validate_specs(context: Context) -> None:
    """Resolve every role's model spec once, so a bad spec fails before the run starts."""
    for role in roles.engine_roles():
        engine_for(role, context)
    from sovereign_agents.embeddings import check_embeddings_spec

    check_embeddings_spec(context.embeddings)
