"""``sovereign show DIR``: where a run's report.html is, and ``--serve`` to open it in a browser.

The server binds 127.0.0.1 only and serves the run folder read-only (the stdlib's static file
handler: GET and HEAD) until Ctrl-C.
"""

from __future__ import annotations

import logging
import signal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from sovereign_agents.cli.common import out, reported
from sovereign_agents.errors import InputError

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

log = logging.getLogger(__name__)
HOST = "127.0.0.1"
REPORT_HTML = "report.html"


def report_page(run_dir: Path) -> Path:
    """The run's report.html (rendered now for a finished run made before runs wrote one), or
    an InputError that says why there is none."""
    from sovereign_agents.runner import write_report_html

    if not run_dir.is_dir():
        raise InputError(f"{run_dir} is not a folder")
    page = run_dir / REPORT_HTML
    if page.is_file():
        return page
    if not (run_dir / "run.json").is_file():
        raise InputError(f"{run_dir} has no {REPORT_HTML}: not a run folder")
    if not (run_dir / "report.json").is_file():
        raise InputError(
            f"{run_dir} has no {REPORT_HTML}: the run has not finished (see `sovereign history`)"
        )
    return write_report_html(run_dir)


def make_server(run_dir: Path, port: int = 0) -> ThreadingHTTPServer:
    """A static file server for ``run_dir`` on 127.0.0.1 (``port`` 0: an ephemeral port)."""
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class _QuietHandler(SimpleHTTPRequestHandler):
        """Static files of the run folder; request lines go to logging, not to stderr."""

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s " + format, self.address_string(), *args)

    handler = partial(_QuietHandler, directory=str(run_dir))
    try:
        return ThreadingHTTPServer((HOST, port), handler)
    except OSError as exc:
        raise InputError(f"cannot serve on {HOST}:{port}: {exc.strerror or exc}") from exc


def show_command(
    run_dir: Annotated[Path, typer.Argument(help="a run folder (made by `sovereign run`)")],
    serve: Annotated[
        bool, typer.Option("--serve", help="serve the run folder on 127.0.0.1 until Ctrl-C")
    ] = False,
    port: Annotated[
        int, typer.Option(help="port for --serve (0: any free port)", min=0, max=65535)
    ] = 0,
) -> None:
    """Print the path of a run's report.html; with --serve, serve it to a browser."""
    with reported():
        page = report_page(run_dir).resolve()
        server = make_server(page.parent, port) if serve else None
    out.print(escape(str(page)), soft_wrap=True)
    if server is None:
        return
    url = f"http://{HOST}:{server.server_address[1]}/{REPORT_HTML}"
    # Ctrl-C and SIGTERM stop the server even when this process was started with SIGINT
    # ignored (a background job of a shell), where Python installs no KeyboardInterrupt
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    out.print(f"serving {url} (Ctrl-C to stop)", soft_wrap=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        out.print("stopped")
    finally:
        server.server_close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
