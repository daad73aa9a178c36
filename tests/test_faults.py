"""Faults a run survives, and secrets it never leaks (the rest of the fault suite lives beside
the code it exercises: test_arxiv.py for arXiv 503/400/timeouts/empty pages/unreachable,
test_models.py for model 429/5xx/invalid output, test_hostile_sources.py for hostile input)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from sovereign_agents import Context
from sovereign_agents.runner import run_research
from tests import HANG_GUARD_S

GOAL = "How does sparse mixture-of-experts routing reduce inference cost?"
SECRET = "nvapi-TESTSECRET-0123456789abcdef"


def node_records(run_dir: Path) -> list[str]:
    lines = (run_dir / "trace.jsonl").read_text().splitlines()
    return [json.loads(line)["node"] for line in lines if '"event": "node"' in line]


def node_rounds(run_dir: Path) -> list[tuple[str, int]]:
    """(node, revision round) of every node execution in the trace."""
    records = [json.loads(line) for line in (run_dir / "trace.jsonl").read_text().splitlines()]
    return [
        (r["node"], int(r["input"].get("revision_round", r["input"].get("round", 0)) or 0))
        for r in records
        if r.get("event") == "node"
    ]


def test_empty_search_results_make_a_report_that_says_so(
    daily_corpus: Path, tmp_path: Path
) -> None:
    result = run_research(
        "Xyzzy plugh frobnicate quux?", Context(corpus=str(daily_corpus)), tmp_path
    )
    report = json.loads(result.report_json.read_text())  # type: ignore[union-attr]
    assert report["papers"] == [] and report["claims"] == []
    assert report["policy"] == "REJECT" and report["verdict"] != "APPROVE"
    messages = " ".join(u["message"] for u in report["uncertainties"])
    assert "found no relevant paper" in messages
    md = (tmp_path / "report.md").read_text()
    assert "0 papers retrieved. 0 claims extracted, 0 verified." in md
    assert "No claims were extracted." in md


@pytest.mark.slow
@pytest.mark.integration
def test_sigkill_mid_model_call_then_resume_finishes_without_rerunning(
    fake_nim: Any, daily_corpus: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    fake_nim.chat_delay = 2.0  # every chat answer takes 2 s: the kill lands mid-call
    env = {**os.environ, "NVIDIA_BASE_URL": fake_nim.url}
    command = [
        sys.executable, "-m", "sovereign_agents", "run", GOAL, "--corpus", str(daily_corpus),
        "--llm", "nvidia:fake", "--out", str(run), "-q", "--set", "max_papers=3",
    ]  # fmt: skip
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while not any(
            "extract factual claims" in json.dumps(r.get("messages", ""))
            for r in list(fake_nim.requests)
        ):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never reached the extractor"
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=HANG_GUARD_S)
    assert proc.returncode == -signal.SIGKILL
    assert not (run / "report.json").exists()
    before = node_records(run)
    assert "index" in before and "extract" not in before  # killed with extract calls in flight

    fake_nim.chat_delay = 0.0
    resumed = subprocess.run(
        [sys.executable, "-m", "sovereign_agents", "resume", str(run), "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads((run / "report.json").read_text())
    executions = node_rounds(run)
    for node in ("plan", "index", "verify", "draft"):
        assert executions.count((node, 0)) == 1, f"{node} ran again"
    papers = [p for p in report["papers"] if p["round"] == 0]
    assert executions.count(("extract", 0)) == len(papers)  # each paper extracted once
    assert report["policy"] in {"AUTO_APPROVE", "HUMAN_REVIEW", "REJECT"}


@pytest.mark.slow
def test_secrets_never_reach_trace_report_logs_or_checkpoints(
    fake_nim: Any, daily_corpus: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    # the server refuses the first request and quotes the key back, as some gateways do
    fake_nim.script([(401, {"message": f"invalid api key {SECRET}"}, {})])
    env = {**os.environ, "NVIDIA_BASE_URL": fake_nim.url, "NVIDIA_API_KEY": SECRET}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sovereign_agents",
            "run",
            GOAL,
            "--corpus",
            str(daily_corpus),
            "--llm",
            "nvidia:fake",
            "--out",
            str(run),
            "--set",
            "max_papers=2",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stdout and SECRET not in proc.stderr
    files = sorted(p for p in run.iterdir() if p.is_file())
    assert {p.name for p in files} >= {
        "report.md",
        "report.json",
        "report.html",
        "trace.jsonl",
        "run.json",
    }
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), f"the key leaked into {path.name}"
    report = json.loads((run / "report.json").read_text())
    assert any("[REDACTED]" in u["message"] for u in report["uncertainties"])
    assert report["context"].get("llm") == "nvidia:fake"


def test_telemetry_stays_off_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from sovereign_agents.models.specs import telemetry_enabled

    monkeypatch.delenv("SOVEREIGN_NVIDIA_TELEMETRY", raising=False)
    assert telemetry_enabled() is False
    monkeypatch.setenv("SOVEREIGN_NVIDIA_TELEMETRY", "1")
    assert telemetry_enabled() is True


def test_redaction_of_known_key_shapes_and_secret_env_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sovereign_agents.redaction import redact
    from sovereign_agents.schemas import Uncertainty

    monkeypatch.setenv("MY_SERVICE_TOKEN", "plain-looking-value-42")
    text = f"key {SECRET}, header Bearer abc.def-123, sk-{'x' * 20}, plain-looking-value-42"
    assert redact(text) == "key [REDACTED], header [REDACTED], [REDACTED], [REDACTED]"
    assert SECRET not in Uncertainty(kind="failure", message=f"HTTP 401: {SECRET}").message
