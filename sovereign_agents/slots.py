"""``Context.max_concurrency`` as slots: the fanned-out calls of a run (a search per query, an
extraction per paper, the reviewers) hold one slot each while they wait.

LangGraph bounds parallel tasks only through ``config={"max_concurrency": ...}``, which a
caller of ``graph.invoke(..., context=Context(max_concurrency=2))`` never passes. So the
nodes take a slot of the run themselves: a ``threading.BoundedSemaphore`` under ``invoke``,
an ``asyncio.Semaphore`` (one per event loop, keyed by the loop object itself, weakly: a
loop's id can be reused by a later loop, which must not get a semaphore bound to the old
one) under ``ainvoke``. The slots belong to the
context object (``per_run``): runs that share one context object share its slots.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import TypeVar

from sovereign_agents.context import Context
from sovereign_agents.per_run import per_run
from sovereign_agents.steps import Step

T = TypeVar("T")


def _thread_slots(context: Context, n: int) -> threading.BoundedSemaphore:
    return per_run(context, "slots:thread", lambda: threading.BoundedSemaphore(n))


_LOOPS_LOCK = threading.Lock()


def _loop_slots(context: Context, n: int) -> asyncio.Semaphore:
    """The run's semaphore on the running loop (a semaphore serves one loop)."""
    by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = per_run(
        context, "slots:loop", weakref.WeakKeyDictionary
    )
    loop = asyncio.get_running_loop()
    with _LOOPS_LOCK:  # runs on loops in other threads may share the context
        slots = by_loop.get(loop)
        if slots is None:
            slots = by_loop[loop] = asyncio.Semaphore(n)
        return slots


def in_slot(step: Step[T], context: Context) -> Step[T]:
    """``step`` holding one of the run's ``max_concurrency`` slots while it runs (``step``
    itself when the context sets no limit)."""
    n = context.max_concurrency
    if n is None:
        return step

    def run() -> T:
        with _thread_slots(context, n):
            return step.run()

    async def arun() -> T:
        async with _loop_slots(context, n):
            return await step.awaited()

    return Step(run, arun)
