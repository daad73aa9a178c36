"""Bounded HTTP: every request a run makes has a wall-clock deadline and a body size cap.

``requests`` timeouts bound each socket operation, not the request: a server that trickles
one byte per second, or streams without end, keeps a call alive forever, and a huge body is
read into memory whole. ``BoundedAdapter`` (mounted on a ``requests.Session``) fixes both:

* a watchdog thread per request shuts the request's socket down when ``deadline_s`` has
  passed, wherever the request is (connecting, sending, waiting for headers, reading the
  body), and the request fails with ``RequestDeadlineExceeded`` (a ``requests.Timeout``, so
  callers retry and fall back as for any timeout); every connect/read timeout is also clamped
  to the deadline;
* the body is read as a stream and counted; past ``max_bytes`` (or a larger
  ``Content-Length``) the request fails with ``ResponseTooLarge``.

The chat models, embeddings (``models.specs``) and the arXiv client (``search.arxiv_api``) all
send through it; ``http_limits(context, kind)`` says which bounds each gets. A client may turn
one call into several requests (ChatNVIDIA's structured output tries up to three formats,
swallowing errors): inside ``deadline_scope(seconds)`` they all share one deadline.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection

if TYPE_CHECKING:
    from sovereign_agents.context import Context

CHUNK = 64 * 1024
SWEEP_S = 0.05  # how often an expired request's sockets are shut down again


class RequestDeadlineExceeded(requests.Timeout):
    """The whole request took longer than its deadline (it timed out)."""


class ResponseTooLarge(requests.RequestException):
    """The response body was larger than allowed."""


@dataclass(frozen=True)
class HttpLimits:
    deadline_s: float
    max_bytes: int


def http_limits(context: Context, kind: str = "default") -> HttpLimits:
    """The bounds of one kind of request under a run's context: ``chat`` bodies are capped
    near ``max_answer_chars`` (at most 6 bytes per character, as JSON escapes, plus the
    envelope); ``arxiv``, ``embeddings`` and the rest at ``max_response_bytes``."""
    cap = context.max_response_bytes
    if kind == "chat":
        cap = min(cap, 6 * context.models.max_answer_chars + 64 * 1024)
    return HttpLimits(deadline_s=context.request_deadline_s, max_bytes=cap)


class _Watch:
    """Shuts down the sockets of one request once its deadline has passed."""

    def __init__(self, deadline_s: float) -> None:
        self.deadline_s = deadline_s
        self.deadline = time.monotonic() + deadline_s
        self.fired = False
        self._connections: list[HTTPConnection] = []
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="sovereign-http-deadline")
        self._thread.daemon = True
        self._thread.start()

    def remaining(self) -> float:
        return max(0.001, self.deadline - time.monotonic())

    def add(self, connection: HTTPConnection) -> None:
        with self._lock:
            self._connections.append(connection)
            if self.fired:
                _shutdown(connection)

    def _run(self) -> None:
        if self._done.wait(self.deadline_s):
            return
        while True:
            with self._lock:  # finish() takes the lock: no shutdown after the request ended
                if self._done.is_set():
                    return
                self.fired = True
                for connection in self._connections:
                    _shutdown(connection)
            if self._done.wait(SWEEP_S):  # a socket may appear later (still connecting)
                return

    def finish(self) -> None:
        with self._lock:
            self._done.set()


def _shutdown(connection: HTTPConnection) -> None:
    sock: Any = getattr(connection, "sock", None)
    sock = getattr(sock, "socket", sock)  # urllib3's SSLTransport wraps the real socket
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):  # the base method: unblocks a recv, also under TLS
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


_CURRENT = threading.local()
_SCOPE = threading.local()


@contextmanager
def deadline_scope(seconds: float | None) -> Iterator[None]:
    """Every bounded request made on this thread inside shares one deadline, ``seconds`` from
    now (nested scopes keep the earlier one); None: no shared deadline."""
    previous: float | None = getattr(_SCOPE, "until", None)
    if seconds is not None:
        until = time.monotonic() + seconds
        _SCOPE.until = until if previous is None else min(previous, until)
    try:
        yield
    finally:
        _SCOPE.until = previous


def _watch_current(connection: HTTPConnection) -> None:
    watch = getattr(_CURRENT, "watch", None)
    if watch is not None:
        watch.add(connection)


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        _watch_current(self)
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch_current(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        _watch_current(self)
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch_current(self)
        super().request(*args, **kwargs)


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


def _clamp(timeout: Any, limit: float) -> Any:
    if timeout is None:
        return (limit, limit)
    if isinstance(timeout, tuple):
        return tuple(limit if t is None else min(float(t), limit) for t in timeout)
    if isinstance(timeout, int | float):
        return min(float(timeout), limit)
    return timeout  # a urllib3 Timeout object: left as given; the watchdog still applies


class BoundedAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose every request has a deadline and a body size cap."""

    def __init__(self, limits: HttpLimits, **kwargs: Any) -> None:
        self.limits = limits
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
        **kwargs: Any,
    ) -> requests.Response:  # fmt: skip
        limit = self.limits.deadline_s
        until: float | None = getattr(_SCOPE, "until", None)
        if until is not None:
            if until - time.monotonic() <= 0:
                raise RequestDeadlineExceeded(
                    f"request to {request.url} timed out: its call's deadline had passed "
                    "(request_deadline_s)"
                )
            limit = min(limit, until - time.monotonic())
        watch = _Watch(limit)
        previous = getattr(_CURRENT, "watch", None)
        _CURRENT.watch = watch
        try:
            response = super().send(request, stream=True, timeout=_clamp(timeout, limit), **kwargs)
            response._content = self._read(response, watch)  # what requests itself sets
            return response
        except requests.RequestException as exc:
            if watch.fired and not isinstance(exc, RequestDeadlineExceeded | ResponseTooLarge):
                raise self._expired(request, watch) from exc
            raise
        except OSError as exc:  # a socket error that requests did not wrap
            if watch.fired:
                raise self._expired(request, watch) from exc
            raise
        finally:
            _CURRENT.watch = previous
            watch.finish()

    def _read(self, response: requests.Response, watch: _Watch) -> bytes:
        cap = self.limits.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            response.close()
            raise ResponseTooLarge(
                f"response of {int(declared):,} bytes from {response.url} is over the "
                f"{cap:,}-byte cap",
                response=response,
            )
        body = bytearray()
        for chunk in response.iter_content(CHUNK):
            body += chunk
            if len(body) > cap:
                response.close()
                raise ResponseTooLarge(
                    f"response from {response.url} passed the {cap:,}-byte cap",
                    response=response,
                )
            if watch.fired:
                response.close()
                raise self._expired(response.request, watch)
        if watch.fired:  # the last read may have ended on the watchdog's shutdown
            raise self._expired(response.request, watch)
        return bytes(body)

    @staticmethod
    def _expired(request: Any, watch: _Watch) -> RequestDeadlineExceeded:
        url = getattr(request, "url", "")
        return RequestDeadlineExceeded(
            f"request to {url} timed out: not complete within its {watch.deadline_s:.3g} s "
            "deadline (request_deadline_s)"
        )


def bound_session(session: requests.Session, limits: HttpLimits) -> requests.Session:
    """``session`` with every http(s) request bounded by ``limits``."""
    adapter = BoundedAdapter(limits)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
