"""Hostile HTTP answers on loopback: a huge body, an endless stream, a one-byte-per-second
trickle. ``FakeNim`` uses them for chat completions; ``HostileServer`` answers every GET and
POST so (it stands in for the arXiv API)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

from tests.servers import QuietHTTPServer

MODES = ("huge", "endless", "trickle")


def huge(
    handler: BaseHTTPRequestHandler, prefix: bytes, suffix: bytes, size: int, stop: threading.Event
) -> None:
    """``prefix`` + filler + ``suffix``, ``size`` bytes in all, with its length declared."""
    filler = size - len(prefix) - len(suffix)
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(size))
    handler.end_headers()
    handler.wfile.write(prefix)
    block = b"x" * 65536
    while filler > 0 and not stop.is_set():
        handler.wfile.write(block[: min(filler, len(block))])
        filler -= len(block)
    handler.wfile.write(suffix)


def endless(handler: BaseHTTPRequestHandler, prefix: bytes, stop: threading.Event) -> None:
    """``prefix``, then text without end: no length, the connection never closes."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.end_headers()
    handler.wfile.write(prefix)
    block = b"more " * 2000
    while not stop.is_set():
        handler.wfile.write(block)
        stop.wait(0.001)


def trickle(
    handler: BaseHTTPRequestHandler, body: bytes, interval: float, stop: threading.Event
) -> None:
    """The whole response, status line first, one byte every ``interval`` seconds."""
    raw = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    for i in range(len(raw)):
        if stop.wait(interval):
            return
        handler.wfile.write(raw[i : i + 1])
        handler.wfile.flush()


class HostileServer:
    """Answers every request in ``mode`` (one of ``MODES``); ``hits`` counts requests."""

    def __init__(self, mode: str, *, size: int = 30_000_000, interval: float = 1.0) -> None:
        self.mode, self.size, self.interval = mode, size, interval
        self.hits = 0
        self.stopping = threading.Event()
        self.server = QuietHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/api/query"

    def start(self) -> HostileServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        self.hits += 1
        handler.close_connection = True
        body = b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">'
        actions: dict[str, Callable[[], None]] = {
            "huge": lambda: huge(handler, body, b"</feed>", self.size, self.stopping),
            "endless": lambda: endless(handler, body, self.stopping),
            "trickle": lambda: trickle(handler, body + b"</feed>", self.interval, self.stopping),
        }
        with contextlib.suppress(OSError):  # the client gave up: what the tests want
            actions[self.mode]()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hostile.answer(self)

            def do_POST(self) -> None:
                hostile.answer(self)

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler
