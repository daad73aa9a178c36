"""The NIM path for real: ChatNVIDIA and NVIDIAEmbeddings against a llama.cpp server on
loopback, serving a tiny model. The model is often wrong; the point is that the real client
path works end to end and that bad model output degrades the run instead of crashing it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Sized for gemma-3-270m on one thread of a busy 2-core machine. Every chat call must finish
# inside the NVIDIA client's 60 s read timeout, so: one request at a time (the server has one
# slot; parallel branches would queue behind each other and time out waiting), short answers
# (128 tokens: every role's JSON fits), little work (2 papers, 1 claim each, no revision round:
# the revision route is covered on the scripted NIM), and few retries (a call that timed out
# under load is not sent three more times).
KNOBS = {
    "n_queries": 2,
    "papers_per_query": 2,
    "max_papers": 2,
    "claims_per_paper": 1,
    "max_revisions": 0,
    "max_tokens": 128,
    "max_concurrency": 1,
    "model_output_retries": 1,
    "model_http_retries": 1,
}
# plan, 2 extracts, 2 stance checks, draft, 3 reviewers: 9 roles, each at most
# (1 + model_output_retries) answers; 60 s read timeout each. A hang guard, not a speed target.
RUN_TIMEOUT_S = 9 * 2 * 60


def test_cli_run_through_the_nim_client_path(
    llama_server: Any, daily_corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    env = {
        **os.environ,
        "NVIDIA_BASE_URL": llama_server.url,
        "SOVEREIGN_CACHE_DIR": str(tmp_path / "cache"),
    }
    env.pop("NVIDIA_API_KEY", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sovereign_agents",
            "run",
            "How do mixture-of-experts models reduce inference cost?",
            "--corpus",
            str(daily_corpus),
            "--llm",
            "nvidia:gemma3",
            "--embeddings",
            "nvidia:gemma3",
            "--out",
            str(out),
            "-q",
            *[arg for key, value in KNOBS.items() for arg in ("--set", f"{key}={value}")],
        ],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert set(report["models"]["chat"].values()) == {"gemma3"}
    assert report["model_calls"] >= 6  # plan, extract x2, draft, three reviewers at least
    assert report["models"]["embedding"] in {"gemma3", "lsa-tfidf-svd"}
    if report["models"]["embedding"] == "gemma3":
        # llama.cpp answers one vector per token for this model: pooled and said so
        assert any("mean-pooled" in u["message"] for u in report["uncertainties"])
    chat_calls = [
        c
        for line in (out / "trace.jsonl").read_text().splitlines()
        for c in json.loads(line)["calls"]
        if c["kind"] == "chat"
    ]
    assert chat_calls and all(c["model"] == "gemma3" for c in chat_calls)
    assert any(c["response"] for c in chat_calls)  # real answers came back over HTTP
    # the report is complete whatever the tiny model said
    md = (out / "report.md").read_text()
    assert "## 5 Extracted Claims" in md and "Policy:" in md
