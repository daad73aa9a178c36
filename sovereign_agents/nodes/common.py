"""Helpers every node uses: the run's context and its search backend."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from sovereign_agents.context import Context
from sovereign_agents.errors import ConfigError
from sovereign_agents.search.base import SearchBackend


def context_of(runtime: Runtime[Context] | None) -> Context:
    """The run's context; defaults when the caller passed none."""
    context: Any = getattr(runtime, "context", None)
    if context is None:
        return Context()
    if isinstance(context, dict):
        return Context(**context)
    return context


def search_backend(context: Context) -> SearchBackend:
    """The search backend for this context (the local index is memoised per process)."""
    if isinstance(context.search.backend, SearchBackend):
        return context.search.backend
    if context.search_backend == "local":
        if not context.search.corpus:
            raise ConfigError("local search needs a corpus file (--corpus PATH)")
        from sovereign_agents.search.local import LocalCorpusSearch

        return LocalCorpusSearch(context.search.corpus, context.cache_dir)
    from sovereign_agents.search.arxiv_api import arxiv_backend

    return arxiv_backend(context)
