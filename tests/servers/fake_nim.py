"""A scripted OpenAI-compatible server on loopback, standing in for a NIM in fast tests.

By default it answers every role of the research graph sensibly, from the prompt it is sent
(so a whole run goes through the real ChatNVIDIA / NVIDIAEmbeddings clients over HTTP):
the planner gets keyword queries, the extractor quotes the abstract's second sentence, the
writer cites the first claim, reviewers score by prompt version (v1 -> 7.5, v2 -> 5.5, so
prompt sensitivity is visible), the reviser asks for one new query, the judge says SUPPORT. Faults are scripted per
request: ``script([(429, {...}, {"Retry-After": "2"}), (500, ...), ...])`` answers the next
requests so, before the defaults resume. ``requests`` records every request body.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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


class FakeNim:
    def __init__(self, dim: int = 8, token_level_embeddings: bool = False) -> None:
        self.requests: list[dict[str, Any]] = []
        self.scripted: list[Scripted] = []
        self.dim = dim
        self.token_level_embeddings = token_level_embeddings
        self.answer: Callable[[str], dict[str, Any]] = default_answer
        self.chat_delay = 0.0  # seconds before each chat answer: calls "in flight"
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> FakeNim:
        self.thread.start()
        return self

    def stop(self) -> None:
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

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if "messages" in r]

    def _embedding(self, text: str) -> list[float]:
        vector = [0.0] * self.dim
        for word in re.findall(r"\w+", text.lower()):
            vector[hash(word) % self.dim] += 1.0
        return vector

    def _respond(self, path: str, body: dict[str, Any]) -> Scripted:
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
        return 200, completion(json.dumps(self.answer(prompt))), {}

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
                self._reply(*fake._respond(self.path, body))

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler
