"""A node written once, served to ``invoke`` and ``ainvoke`` alike.

The node is a body (``steps.py``): plain code that yields a ``Step`` where it waits on a
model, an embedding service, a search or heavy CPU work. ``@dual_node("name")`` makes it a
LangGraph runnable with both implementations, which is what ``add_node`` does itself with a
plain function (``RunnableCallable(func, afunc)``; it injects ``runtime`` the same way):

* ``invoke`` / ``stream``: the body runs blocking in LangGraph's worker thread, as before;
* ``ainvoke`` / ``astream``: the body's waits are awaited on the host's event loop (the
  model's ``ainvoke``), and its code between waits runs in worker threads, so the loop is
  never held by our CPU work.

Each execution is traced (``tracing.traced``) either way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from langgraph._internal._runnable import RunnableCallable
from langgraph.runtime import Runtime

from sovereign_agents.context import Context
from sovereign_agents.steps import Body, adrive, drive
from sovereign_agents.tracing import traced

NodeBody = Callable[[Any, Runtime[Context]], Body[dict[str, Any]]]


def dual_node(name: str) -> Callable[[NodeBody], RunnableCallable]:
    """Make a node body a runnable with a blocking and an async implementation."""

    def decorate(body: NodeBody) -> RunnableCallable:
        @traced(name)
        @functools.wraps(body)
        def run(state: Any, runtime: Runtime[Context]) -> dict[str, Any]:
            return drive(body(state, runtime))

        @traced(name)
        @functools.wraps(body)
        async def arun(state: Any, runtime: Runtime[Context]) -> dict[str, Any]:
            return await adrive(body(state, runtime), offload=True)

        return RunnableCallable(run, arun, name=name, trace=False)

    return decorate
