"""A loopback HTTP server that replays the recorded arXiv API responses in ../shared/data.

Exact recordings answer id look-ups and the ``testing`` search (matched on start and
max_results); any other query gets the recorded cs feed page for its ``start`` (pages of 100),
and an empty feed past the last page. Faults are scripted: ``fail_next([503, 503])`` answers
the next requests with those statuses, ``delay`` slows every answer, ``drop_next(n)`` closes
the next n connections without an answer.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from tests.servers import QuietHTTPServer


class ArxivReplay:
    def __init__(self, data: Path) -> None:
        self.root = data / "arxiv_api"
        fixtures = self.root / "arxiv_py_fixtures_xml"
        self.by_url: dict[tuple[str, str, str, str], tuple[int, bytes]] = {}
        for entry in json.loads((fixtures / "index.json").read_text()):
            q = parse_qs(urlparse(entry["url"]).query, keep_blank_values=True)
            key = (q["search_query"][0], q["id_list"][0], q["start"][0], q["max_results"][0])
            self.by_url[key] = (entry["status_code"], (fixtures / entry["xml"]).read_bytes())
        self.empty = self.by_url[("", "0000.0000", "0", "100")][1]
        self.requests: list[str] = []
        self.failures: list[int] = []
        self.drops = 0
        self.delay = 0.0
        self.slow: list[float] = []  # seconds before answering each of the next requests
        self.empties = 0  # the next requests get an empty feed (arXiv's flaky empty pages)
        self.lock = threading.Lock()
        self.server = QuietHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/api/query"

    def start(self) -> ArxivReplay:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, statuses: list[int]) -> None:
        with self.lock:
            self.failures.extend(statuses)

    def drop_next(self, n: int) -> None:
        with self.lock:
            self.drops += n

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.failures.clear()
            self.drops, self.delay = 0, 0.0
            self.slow.clear()
            self.empties = 0

    def answer(self, query: str) -> tuple[int, bytes]:
        q = parse_qs(query, keep_blank_values=True)
        search = q.get("search_query", [""])[0]
        ids = q.get("id_list", [""])[0]
        start, size = q.get("start", ["0"])[0], q.get("max_results", ["10"])[0]
        if ids:
            for (s, i, st, _), value in self.by_url.items():
                if not s and i == ids and st == start:
                    return value
            return 200, self.empty
        if "testing" in search:
            exact = self.by_url.get(("testing", "", start, size))
            return exact or self.by_url[("testing", "", "0", "100")]
        page = self.root / "cs_recent_submitted" / f"arxiv_raw_{int(start) // 100 * 100}.xml"
        return (200, page.read_bytes()) if page.exists() else (200, self.empty)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with replay.lock:
                    replay.requests.append(self.path)
                    drop = replay.drops > 0
                    replay.drops -= int(drop)
                    status = replay.failures.pop(0) if replay.failures else None
                    status = status or None  # 0 in the script lets one request through
                    wait = replay.slow.pop(0) if replay.slow else replay.delay
                    empty = replay.empties > 0
                    replay.empties -= int(empty)
                if wait:
                    time.sleep(wait)
                if drop:
                    self.close_connection = True
                    self.connection.close()
                    return
                if status is None and empty:
                    status, body = 200, replay.empty
                elif status is None:
                    status, body = replay.answer(urlparse(self.path).query)
                else:
                    body = b"<html>unavailable</html>"
                self.send_response(status)
                self.send_header("Content-Type", "application/atom+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler
