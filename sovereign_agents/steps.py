"""One body, two drivers: code that waits written once, run blocking or on an event loop.

A body is a generator that yields a ``Step`` wherever it waits (a model, a search, a worker
thread) and receives the step's result at that ``yield``::

    def body(model, prompt) -> Body[str]:
        messages = prepare(prompt)                          # plain code
        answer = yield Step(lambda: model.invoke(messages), lambda: model.ainvoke(messages))
        return finish(answer)                               # plain code

``drive(body(...))`` runs each step's blocking ``run``; ``await adrive(body(...))`` awaits
its ``arun`` (a step without one runs ``run`` in a worker thread). A step's exception is
raised inside the body at its ``yield``, so the body's ``try``/``except`` reads as in plain
code. ``adrive(..., offload=True)`` also runs the body's own code between steps in worker
threads: a node's CPU work (index build, ranking, verification) never holds the loop.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

Body = Generator["Step[Any]", Any, R]


@dataclass(frozen=True)
class Step(Generic[T]):
    """One wait of a body: how to do it blocking (``run``) and how to await it (``arun``;
    None: ``run`` in a worker thread)."""

    run: Callable[[], T]
    arun: Callable[[], Awaitable[T]] | None = None

    async def awaited(self) -> T:
        if self.arun is not None:
            return await self.arun()
        return await asyncio.to_thread(self.run)


def offload(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Step[T]:
    """A CPU-bound or blocking call: inline when driven blocking, in a worker thread when
    awaited."""
    return Step(functools.partial(fn, *args, **kwargs))


def either(run: Callable[..., T], arun: Callable[..., Awaitable[T]] | None, *args: Any) -> Step[T]:
    """``run(*args)`` blocking, ``await arun(*args)`` on a loop (a worker thread if None)."""
    return Step(functools.partial(run, *args), functools.partial(arun, *args) if arun else None)


def _advance(body: Body[R], value: Any, error: BaseException | None) -> tuple[bool, Any]:
    """Resume ``body`` with a step's value or error: (finished, next step or return value).
    StopIteration never leaves here (it cannot cross a thread's future)."""
    try:
        return False, body.throw(error) if error is not None else body.send(value)
    except StopIteration as stop:
        return True, stop.value


def drive(body: Body[R]) -> R:
    """Run ``body`` to its return value, each step blocking."""
    value: Any = None
    error: BaseException | None = None
    while True:
        finished, out = _advance(body, value, error)
        if finished:
            result: R = out
            return result
        try:
            value, error = out.run(), None
        except Exception as exc:
            value, error = None, exc


async def adrive(body: Body[R], *, offload: bool = False) -> R:
    """Run ``body`` to its return value on the running loop, each step awaited; with
    ``offload``, the body's code between steps runs in worker threads."""
    value: Any = None
    error: BaseException | None = None
    while True:
        if offload:
            finished, out = await asyncio.to_thread(_advance, body, value, error)
        else:
            finished, out = _advance(body, value, error)
        if finished:
            result: R = out
            return result
        try:
            value, error = await out.awaited(), None
        except Exception as exc:
            value, error = None, exc
