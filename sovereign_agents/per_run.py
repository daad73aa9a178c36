"""Objects resolved once per run (engines, the verifier): memoised on the run's context.

LangGraph hands every node of a run the same context object, so a value built from it the
first time a node asks is the one every later node (and round) gets. The memo lives as long
as that object: it is dropped when the context is garbage-collected.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_MEMO: dict[int, dict[str, Any]] = {}
_LOCK = threading.RLock()


def per_run(context: object, key: str, build: Callable[[], T]) -> T:
    """``build()`` once per ``context`` object and ``key``; later calls get the same value."""
    with _LOCK:
        slot = _MEMO.get(id(context))
        if slot is None:
            try:
                weakref.finalize(context, _MEMO.pop, id(context), None)
            except TypeError:  # not weak-referenceable: nothing to tie the memo to
                return build()
            slot = _MEMO[id(context)] = {}
        if key not in slot:
            slot[key] = build()
        value: T = slot[key]
        return value
