"""search: one query against the configured backend (runs once per ``Send``, in parallel)."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from sovereign_agents.context import Context
from sovereign_agents.errors import SearchUnavailable
from sovereign_agents.nodes.common import context_of
from sovereign_agents.nodes.dual import dual_node
from sovereign_agents.schemas import QueryRecord, SearchHit, Uncertainty
from sovereign_agents.search import PartialResults, search_backend, search_step
from sovereign_agents.slots import in_slot
from sovereign_agents.state import SearchTask
from sovereign_agents.steps import Body
from sovereign_agents.tracing import emit, record_call
from sovereign_agents.wording import count


@dual_node("search")
def search(task: SearchTask, runtime: Runtime[Context]) -> Body[dict[str, Any]]:
    context = context_of(runtime)
    backend = search_backend(context)
    query, round_ = task["query"], task["round"]
    emit({"event": "progress", "node": "search", "message": f"query issued: {query}"})
    started = time.perf_counter()
    try:
        results = yield in_slot(
            search_step(backend, query, context.search.papers_per_query), context
        )
        error = None
    except SearchUnavailable:
        raise
    except PartialResults as partial:  # keep what arrived before the failure
        results, error = partial.results, f"partial: {partial.error}"
    except Exception as exc:  # a failed query degrades the run, it does not end it
        results, error = [], f"{type(exc).__name__}: {exc}"
    seconds = round(time.perf_counter() - started, 4)
    record_call(
        {
            "kind": "search",
            "backend": backend.name,
            "describe": backend.describe(),
            "query": query,
            "k": context.search.papers_per_query,
            "error": error,
            "latency_s": seconds,
            "results": [{"paper": p.model_dump(mode="json"), "score": s} for p, s in results],
        }
    )
    hits = [
        SearchHit(query=query, round=round_, rank=rank, score=round(score, 4), paper=paper)
        for rank, (paper, score) in enumerate(results, start=1)
    ]
    emit(
        {
            "event": "progress",
            "node": "search",
            "message": f"{count(len(hits), 'paper')} found for: {query}",
        }
    )
    update: dict[str, Any] = {
        "hits": hits,
        "query_log": [
            QueryRecord(
                query=query,
                round=round_,
                backend=backend.name,
                hits=len(hits),
                seconds=seconds,
                error=error,
            )
        ],
    }
    notes: list[Uncertainty] = list(getattr(backend, "notes", list)())
    if round_ > 0:  # the corpus notes were recorded in round 0; cache notes come once anyway
        notes = [n for n in notes if n.kind != "coverage"]
    if error:
        notes.append(
            Uncertainty(
                kind="failure", node="search", message=f"search for '{query}' failed: {error}"
            )
        )
    if notes:
        update["uncertainties"] = notes
    return update
