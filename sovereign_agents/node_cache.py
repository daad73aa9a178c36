"""Which nodes a host's node cache (``build_graph(cache=InMemoryCache())``) may skip, and the
key each is cached under.

LangGraph keys a cached node by its input only, not by the run's context, so the plan node
stamps the state with ``context_key`` (``run_context_key``: every knob, model and search
objects by identity, the local corpus by its hash) and the search and extract tasks carry it;
every key below includes it. A node is cached only where re-running it on the same input under
the same context gives the same output:

* ``search`` (one query): the backend's results for the query (a live arXiv's answer is
  reused for the cache's lifetime: give the cache a ``ttl``, or no cache, for fresh results);
* ``extract`` (one paper): the claims of the paper;
* the reviewers: one review of the round's draft, from what the reviewer reads (goal, draft,
  claims, papers, verifier, signals, round); not the run id, timestamps or latencies.

Not cached: plan (stamps the run id and start time), index and verify (write run-wide
records once), draft, aggregate, revise, human_review (interrupts), policy, report (stamps
the report). A skipped node emits no trace record and makes no model call: a run served from
the cache records fewer calls, and ``sovereign debug replay`` needs a run made without it.
A model node cached this way treats the model as LangChain's LLM cache does: the same
request under the same model is answered by the first answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from langgraph.types import CachePolicy

from sovereign_agents.context import FLAT, Context

# what a reviewer reads of the state (make_reviewer, signals_of, active_claims)
REVIEWER_READS = (
    "goal",
    "goal_analysis",
    "revision_round",
    "claims",
    "papers",
    "draft",
    "verifier",
    "signals",
    "context_key",
)


def _identity(value: Any) -> Any:
    """A knob's value for the key: JSON data as it is, an object by its class and identity
    (two different model objects never share entries, the same one always does)."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_identity(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _identity(v) for k, v in value.items()}
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not hasattr(value, "invoke"):
        return _identity(dump(mode="json"))
    return f"{type(value).__module__}.{type(value).__qualname__}@{id(value):x}"


def run_context_key(context: Context, backend: Any = None) -> str:
    """A hash of everything a run's context decides (and the local corpus it searches)."""
    knobs = {flat: _identity(context.get(path)) for flat, path in FLAT.items()}
    index = getattr(backend, "index", None)
    knobs["corpus_sha256"] = getattr(index, "sha256", None)
    text = json.dumps(knobs, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _json(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if callable(dump) else str(value)


def _key(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, default=_json, ensure_ascii=False)


def task_key(task: Mapping[str, Any]) -> str:
    """A search or extract task (a Send's payload, with the run's ``context_key``)."""
    return _key(dict(task))


def reviewer_key(state: Mapping[str, Any]) -> str:
    """What a reviewer reads, under the run's context."""
    return _key({k: state.get(k) for k in REVIEWER_READS})


TASK = CachePolicy(key_func=task_key)
REVIEWER = CachePolicy(key_func=reviewer_key)
