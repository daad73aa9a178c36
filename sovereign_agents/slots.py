"""``Context.max_concurrency`` as slots: the fanned-out calls of a run (a search per query, an
extraction per paper, the reviewers) hold one slot each while they wait.

LangGraph bounds parallel tasks only through ``config={"max_concurrency": ...}``, which a
caller of ``graph.invoke(..., context=Context(max_concurrency=2))`` never passes. So the
nodes take a slot of the run themselves: a ``threading.BoundedSemaphore`` under ``invoke``,
an ``asyncio.Semaphore`` (one per event loop) under ``ainvoke``. The slots belong to the
context object (``per_run``): runs that share one context object share its slots.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TypeVar

from sovereign_agents.context import Context
from sovereign_agents.per_run import per_run
from sovereign_agents.steps import Step

T = TypeVar("T")


def _thread_slots(context: Context, n: int) -> threading.BoundedSemaphore:
    return per_run(context, "slots:thread", lambda: threading.BoundedSemaphore(n))


def _loop_slots(context: Context, n: int) -> asyncio.Semaphore:
    loop = id(asyncio.get_running_loop())  # a semaphore serves one loop
    return per_run(context, f"slots:loop:{loop}", lambda: asyncio.Semaphore(n))


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
