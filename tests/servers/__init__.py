"""Real servers on loopback for the integration tests."""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer
from typing import Any


class QuietHTTPServer(ThreadingHTTPServer):
    """A ``ThreadingHTTPServer`` that says nothing when a client hangs up mid-answer (the
    hostile and slow answers exist to be abandoned). socketserver's default prints such an
    error's traceback to ``sys.stderr``, which a CLI test running in the same process (typer's
    ``CliRunner`` swaps ``sys.stderr``) would read as its own output. Any other error still
    prints."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)
