"""Search: the backend interface and the registry of named sources.

* ``base``: ``SearchBackend`` (search, get, describe) and ``PartialResults``.
* ``registry``: the sources a run names in ``Context.search`` (``register_source``), and
  ``search_backend(context)``, the backend of a run.
* ``local`` (BM25 over an arXiv metadata file; ``rerank``, the default ranking on top of it:
  BM25 and RM3 candidates re-ranked by fitted boosted trees) and ``arxiv_api`` (the arXiv API): the built-in
  sources, each with its config group (``LocalConfig``, ``ArxivConfig``); imported when used.
"""

from sovereign_agents.search.base import PartialResults, SearchBackend, search_step
from sovereign_agents.search.registry import (
    AUTO,
    SearchSource,
    check_source,
    register_source,
    search_backend,
    source_name,
    source_names,
    unregister_source,
)

__all__ = [
    "AUTO",
    "PartialResults",
    "SearchBackend",
    "SearchSource",
    "check_source",
    "register_source",
    "search_backend",
    "search_step",
    "source_name",
    "source_names",
    "unregister_source",
]
