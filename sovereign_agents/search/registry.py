"""The search sources a run can name, in one table: ``Context.search = "<name>"``.

A source is a name and a function that builds its ``SearchBackend`` from the run's context
(reading the source's own config group from it, e.g. ``ArxivConfig.from_context``). Two are
built in: ``local`` (BM25 over a local arXiv metadata file) and ``arxiv`` (the arXiv API).
``auto`` is not a source: it picks ``local`` when the context names a corpus, else ``arxiv``.

Adding a source is one call, from any module::

    register_source("mysource", lambda context: MySearch(MyConfig()))
    graph.invoke({"goal": ...}, context=Context(search="mysource"))

Its papers carry their own identity (``Paper.source``, ``id``, ``version``); nothing else
in the package names a source. A ``SearchBackend`` object in ``Context.search`` is used as
it is, with no registration (``replay.ReplaySearch`` does that).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sovereign_agents.errors import ConfigError
from sovereign_agents.search.base import SearchBackend

if TYPE_CHECKING:
    from sovereign_agents.context import Context

AUTO = "auto"


@dataclass(frozen=True)
class SearchSource:
    """A named search source: ``build`` makes its backend for a run's context."""

    name: str
    build: Callable[[Context], SearchBackend]


_SOURCES: dict[str, SearchSource] = {}
_LOCK = threading.Lock()


def register_source(
    name: str, build: Callable[[Context], SearchBackend], *, replace: bool = False
) -> SearchSource:
    """Make ``name`` a value of ``Context.search``; ``build(context)`` returns its backend.

    Registering a name twice is a ``ConfigError`` unless ``replace`` is set."""
    if not name or not name.isidentifier() or name == AUTO:
        raise ConfigError(f"a search source needs a plain name (not {AUTO!r}), not {name!r}")
    source = SearchSource(name, build)
    with _LOCK:
        if name in _SOURCES and not replace:
            raise ConfigError(f"search source {name!r} is already registered")
        _SOURCES[name] = source
    return source


def unregister_source(name: str) -> None:
    """Forget a registered source (a no-op for an unknown name)."""
    with _LOCK:
        _SOURCES.pop(name, None)


def source_names() -> tuple[str, ...]:
    """The registered sources, in the order they were registered."""
    with _LOCK:
        return tuple(_SOURCES)


def is_source(value: Any) -> bool:
    """Whether ``value`` can be ``Context.search``: ``auto``, a registered source's name, or
    a ``SearchBackend`` object. The one check: Context's validator and ``check_source`` use it."""
    if isinstance(value, str):
        return value == AUTO or value in source_names()
    return isinstance(value, SearchBackend)


def allowed_sources() -> str:
    """What ``Context.search`` accepts, for an error message."""
    return ", ".join((AUTO, *source_names())) + " or a SearchBackend object"


def check_source(value: Any) -> None:
    """``ConfigError`` unless ``is_source(value)``."""
    if not is_source(value):
        raise ConfigError(f"search must be {allowed_sources()}, not {value!r}")


def source_name(context: Context) -> str:
    """The source a context names, with ``auto`` resolved (local if a corpus, else arxiv)."""
    if context.search.backend != AUTO:
        return str(context.search.backend)
    return "local" if context.search.corpus else "arxiv"


def search_backend(context: Context) -> SearchBackend:
    """The search backend of a run: the context's backend object, or its source's."""
    if isinstance(context.search.backend, SearchBackend):
        return context.search.backend
    name = source_name(context)
    with _LOCK:
        source = _SOURCES.get(name)
    if source is None:
        check_source(name)  # raises, naming the registered sources
        raise AssertionError("unreachable")
    return source.build(context)


def _local(context: Context) -> SearchBackend:
    from sovereign_agents.search.local import LocalConfig, LocalCorpusSearch

    return LocalCorpusSearch.from_config(LocalConfig.from_context(context))


def _arxiv(context: Context) -> SearchBackend:
    from sovereign_agents.search.arxiv_api import ArxivConfig, arxiv_backend

    return arxiv_backend(ArxivConfig.from_context(context))


register_source("local", _local)
register_source("arxiv", _arxiv)
