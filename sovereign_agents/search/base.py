"""The search backend interface every searcher implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from sovereign_agents.schemas import Paper
from sovereign_agents.steps import Step, either


@runtime_checkable
class SearchBackend(Protocol):
    """Finds papers for a query. Implementations must be safe to call from several threads."""

    name: str

    def search(self, query: str, k: int) -> list[tuple[Paper, float]]:
        """The ``k`` best papers for ``query``, best first, with a backend-specific score."""
        ...

    def get(self, paper_id: str) -> Paper | None:
        """A paper by its id at this source (a version suffix is allowed), or None."""
        ...

    def describe(self) -> str:
        """One line for the report's Methodology: what was searched and how it was ranked."""
        ...


def search_step(backend: SearchBackend, query: str, k: int) -> Step[list[tuple[Paper, float]]]:
    """``backend.search(query, k)`` as a step of a node's body: under ``ainvoke``, the
    backend's coroutine ``asearch(query, k)`` when it has one, else ``search`` in a worker
    thread (the built-in ones: the ``arxiv`` package is blocking ``requests`` with no async
    API, and the local BM25 index is CPU work)."""
    return either(backend.search, getattr(backend, "asearch", None), query, k)


class PartialResults(Exception):
    """A search that failed part-way: ``results`` holds what arrived before the failure."""

    def __init__(self, results: list[tuple[Paper, float]], error: str) -> None:
        super().__init__(error)
        self.results = results
        self.error = error
