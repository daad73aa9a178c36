"""A scripted OpenAI-compatible server on loopback, standing in for a NIM in fast tests.

By default it answers every role of the research graph sensibly, from the prompt it is sent
(so a whole run goes through the real ChatNVIDIA / NVIDIAEmbeddings clients over HTTP):
the planner gets keyword queries, the extractor quotes the abstract's second sentence, the
writer cites the first claim, reviewers score by prompt version (v1 -> 7.5, v2 -> 5.5, so
prompt sensitivity is visible), the reviser asks for one new query, the judge says SUPPORT. Faults are scripted per
request: ``script([(429, {...}, {"Retry-After": "2"}), (500, ...), ...])`` answers the next
requests so, before the defaults resume. ``requests`` records every request body.

Hostile modes, for the secrecy and resource-bound tests:

* ``echo_key = True``: every chat answer quotes the bearer token it was called with, plain and
  in base64, in every free-text field and in the completion's ``id`` and ``model``;
* ``hostile = "huge"``: chat answers are ``huge_bytes`` long (valid JSON, declared length);
  ``"endless"``: chat answers stream without end (no length, the connection never closes);
  ``"trickle"``: the whole chat response, status line first, one byte per
  ``trickle_interval`` seconds. ``hostile_hits`` counts the chat requests answered so.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.servers import QuietHTTPServer, hostile

Scripted = tuple[int, Any, dict[str, str]]


def completion(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": "fake",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def between(text: str, start: str, end: str) -> str:
    match = re.search(re.escape(start) + r"(.*?)" + re.escape(end), text, re.DOTALL)
    return match.group(1).strip() if match else ""


def default_answer(prompt: str) -> dict[str, Any]:
    """The answer a sensible model would give to one of the project's role prompts."""
    if "plan a literature search" in prompt:
        goal = between(prompt, "<<<GOAL", "GOAL>>>")
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z\-]+", goal) if len(w) > 3]
        return {"queries": [" ".join(words[i : i + 3]) or goal for i in range(0, 12, 3)]}
    if "extract factual claims" in prompt:
        abstract = between(prompt, "Abstract:", "PAPER>>>")
        sentences = re.split(r"(?<=[.!?])\s+", abstract)
        chosen = sentences[1] if len(sentences) > 1 else sentences[0]
        return {"claims": [{"text": chosen, "evidence": chosen}]}
    if "write the abstract" in prompt:
        ids = re.findall(
            r"^(C[0-9a-f]{8}) \| verified", between(prompt, "<<<CLAIMS", "CLAIMS>>>"), re.MULTILINE
        )
        cite = ids[:1]
        return {
            "answer": [{"text": "The verified claims answer the goal in part.", "claim_ids": cite}],
            "abstract": [
                {"text": "Evidence from the retrieved papers is summarised.", "claim_ids": cite}
            ],
        }
    if "revise a research run" in prompt:
        return {
            "queries": ["sparse experts routing efficiency"],
            "drop_claim_ids": [],
            "rationale": "search for routing efficiency",
        }
    if "Role: SKEPTIC" in prompt or "Role: VALIDATOR" in prompt or "Role: SYNTHESIZER" in prompt:
        return {
            "score": 5.5,
            "issues": [{"text": "v2 rubric objection", "claim_ids": [], "severity": "medium"}],
            "rationale": "v2",
        }
    if "review tribunal" in prompt:
        return {"score": 7.5, "issues": [], "rationale": "v1"}
    if "entailment judge" in prompt:
        evidence = between(prompt, "<<<EVIDENCE", "EVIDENCE>>>")
        return {"label": "SUPPORT", "quote": evidence[:60]}
    if "labels" in prompt and "SUPPORT" in prompt:
        return {"label": "SUPPORT", "quote": ""}
    return {}


_KEEP = {"label", "severity", "evidence", "claim_ids", "drop_claim_ids"}


def with_key(value: Any, key: str, field: str = "") -> Any:
    """``value`` with ``key`` (and its base64) appended to every free-text string."""
    if isinstance(value, dict):
        return {k: with_key(v, key, k) for k, v in value.items()}
    if isinstance(value, list):
        return [with_key(v, key, field) for v in value]
    if isinstance(value, str) and field not in _KEEP:
        return f"{value} {key} {base64.b64encode(key.encode()).decode()}"
    return value


class FakeNim:
    def __init__(self, dim: int = 8, token_level_embeddings: bool = False) -> None:
        self.requests: list[dict[str, Any]] = []
        self.scripted: list[Scripted] = []
        self.dim = dim
        self.token_level_embeddings = token_level_embeddings
        self.answer: Callable[[str], dict[str, Any]] = default_answer
        self.chat_delay = 0.0  # seconds before each chat answer: calls "in flight"
        self.echo_key = False
        self.hostile: str | None = None
        self.huge_bytes = 30_000_000
        self.trickle_interval = 1.0
        self.hostile_hits = 0
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.server = QuietHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> FakeNim:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def script(self, responses: list[Scripted]) -> None:
        with self.lock:
            self.scripted.extend(responses)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.scripted.clear()
            self.answer = default_answer
            self.token_level_embeddings = False
            self.chat_delay = 0.0
            self.echo_key = False
            self.hostile = None
            self.huge_bytes = 30_000_000
            self.trickle_interval = 1.0
            self.hostile_hits = 0

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if "messages" in r]

    def _embedding(self, text: str) -> list[float]:
        vector = [0.0] * self.dim
        for word in re.findall(r"\w+", text.lower()):
            vector[hash(word) % self.dim] += 1.0
        return vector

    def _respond(self, path: str, body: dict[str, Any], token: str = "") -> Scripted:
        with self.lock:
            self.requests.append(body)
            if self.scripted:
                return self.scripted.pop(0)
        if path.endswith("/models"):
            return 200, {"object": "list", "data": [{"id": "fake", "object": "model"}]}, {}
        if path.endswith("/embeddings"):
            texts = body.get("input") or []
            texts = [texts] if isinstance(texts, str) else texts
            data = []
            for i, text in enumerate(texts):
                vector: Any = self._embedding(text)
                if self.token_level_embeddings:
                    vector = [vector, [x * 0.5 for x in vector]]
                data.append({"object": "embedding", "index": i, "embedding": vector})
            return (
                200,
                {
                    "object": "list",
                    "data": data,
                    "model": "fake",
                    "usage": {"prompt_tokens": 1, "total_tokens": 1},
                },
                {},
            )
        fmt = (body.get("response_format") or {}).get("type")
        if fmt == "json_schema":  # like llama.cpp's server: refuse json_schema with a 500
            return (
                500,
                {
                    "message": "Input should be 'text' or 'json_object' at response_format "
                    "type: json_schema"
                },
                {},
            )
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        if self.chat_delay:
            time.sleep(self.chat_delay)
        if self.echo_key and token:
            answer = completion(json.dumps(with_key(self.answer(prompt), token)))
            answer["id"] = f"chatcmpl-{token}"
            answer["model"] = f"fake {token}"
            return 200, answer, {}
        return 200, completion(json.dumps(self.answer(prompt))), {}

    # --- hostile answers (chat completions only) -----------------------------------------
    def _hostile(self, handler: BaseHTTPRequestHandler) -> bool:
        """Answer ``handler``'s chat request in the hostile mode, if one is set."""
        mode = self.hostile
        if mode is None or not handler.path.endswith("/chat/completions"):
            return False
        with self.lock:
            self.hostile_hits += 1
        handler.close_connection = True
        envelope = json.dumps(completion("")).encode()
        prefix, suffix = envelope.split(b'"content": ""', 1)
        prefix, suffix = prefix + b'"content": "', b'"' + suffix
        slow = json.dumps(completion(json.dumps({"queries": ["slow"]}))).encode()
        with contextlib.suppress(OSError):  # the client gave up: what the tests want
            if mode == "huge":
                hostile.huge(handler, prefix, suffix, self.huge_bytes, self.stopping)
            elif mode == "endless":
                hostile.endless(handler, prefix, self.stopping)
            else:
                hostile.trickle(handler, slow, self.trickle_interval, self.stopping)
        return True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, payload: Any, headers: dict[str, str]) -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._reply(*fake._respond(self.path, {}))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if fake._hostile(self):
                    with fake.lock:
                        fake.requests.append(body)
                    return
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                self._reply(*fake._respond(self.path, body, token))

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler
