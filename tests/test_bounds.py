"""Bounded resources: hostile servers (a huge body, an endless stream, a one-byte-per-second
trickle) and huge answers cannot hang a run or blow up its memory or trace; the call fails
(a deadline like a timeout: retried, then the role falls back), the run degrades and says so.

The deadline knobs are small here (``request_deadline_s=1.5``) to keep the tests fast."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from sovereign_agents import Context
from sovereign_agents.http_limits import (
    HttpLimits,
    RequestDeadlineExceeded,
    ResponseTooLarge,
    bound_session,
    http_limits,
)
from sovereign_agents.models.errors import classify
from sovereign_agents.runner import run_research
from tests.servers.hostile import HostileServer

GOAL = "How does sparse mixture-of-experts routing reduce inference cost?"
TRACE_BOUND = 2_000_000  # bytes: a bounded run's trace (the 20 MB answer made 10.6 GB)
RSS_BOUND_KB = 1_500_000  # a run's peak RSS (a 20 MB answer took 16.9 GB)


def chat_calls(trace: Path, node: str) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    return [
        c
        for r in records
        if r.get("event") == "node" and r["node"] == node
        for c in r["calls"]
        if c.get("kind") == "chat"
    ]


def run_cli_measured(args: list[str], env: dict[str, str], out: Path) -> tuple[int, int, str]:
    """Run the CLI; (exit code, the child's own peak RSS in KB, stderr)."""
    out.mkdir(parents=True, exist_ok=True)
    with (out.parent / "stderr.txt").open("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sovereign_agents", *args],
            env=env, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return proc.returncode, usage.ru_maxrss, err.read()


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["huge", "endless", "trickle"])
@pytest.mark.slow
def test_a_hostile_model_server_cannot_hang_or_bloat_a_run(
    mode: str, fake_nim: Any, daily_corpus: Path, tmp_path: Path
) -> None:
    fake_nim.hostile = mode
    fake_nim.huge_bytes = 40_000_000  # tens of MB, with its length declared
    run = tmp_path / "run"
    env = {**os.environ, "NVIDIA_BASE_URL": fake_nim.url}
    code, peak_kb, stderr = run_cli_measured(
        [
            "run", GOAL, "--corpus", str(daily_corpus), "--out", str(run), "-q",
            "--set", 'role_llms={"planner": "nvidia:fake"}',
            "--set", "request_deadline_s=1.5", "--set", "model_http_retries=1",
            "--set", "max_papers=2",
        ],
        env, run,
    )  # fmt: skip
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert (run / "trace.jsonl").stat().st_size < TRACE_BOUND
    assert peak_kb < RSS_BOUND_KB, f"peak RSS {peak_kb} KB"
    calls = chat_calls(run / "trace.jsonl", "plan")
    assert calls and all(c["error"] and c["response"] is None for c in calls)
    errors = " ".join(c["error"] for c in calls)
    if mode == "trickle":  # a deadline fails like a timeout: retried, then given up
        assert "timed out" in errors and "request_deadline_s" in errors
        assert fake_nim.hostile_hits == 2 and len(calls) == 2
    else:  # an oversized body is not asked again
        assert "cap" in errors or "timed out" in errors
    report = json.loads((run / "report.json").read_text())
    fallbacks = [u["message"] for u in report["uncertainties"] if u["kind"] == "fallback"]
    assert any(m.startswith("planner (fake) fell back") for m in fallbacks)
    assert report["policy"] in {"AUTO_APPROVE", "HUMAN_REVIEW", "REJECT"}
    assert len(report["papers"]) >= 1  # the keyphrase planner took over and the run went on


def test_an_answer_over_max_answer_chars_fails_the_call_and_stays_out_of_the_trace(
    daily_corpus: Path, tmp_path: Path
) -> None:
    from sovereign_agents.testing import fake_chat_model

    huge = '{"queries": ["' + "x" * 2_000_000 + '"]}'
    context = Context(
        corpus=str(daily_corpus),
        role_llms={"planner": fake_chat_model([huge] * 5)},
        max_answer_chars=10_000,
        max_papers=2,
    )
    result = run_research(GOAL, context, tmp_path)
    assert result.trace.stat().st_size < TRACE_BOUND
    asked = [c for c in chat_calls(result.trace, "plan") if c["attempt"] >= 1]
    assert len(asked) == 1  # not asked again: the model would say it again
    assert "over max_answer_chars=10,000" in asked[0]["error"] and asked[0]["response"] is None
    report = json.loads(result.report_json.read_text())  # type: ignore[union-attr]
    assert any(
        u["kind"] == "fallback" and "max_answer_chars" in u["message"]
        for u in report["uncertainties"]
    )


def test_trace_records_are_clipped_with_a_marker() -> None:
    from sovereign_agents.tracing import clip

    record = {"messages": [{"content": "a" * 50}], "n": 3, "short": "ok"}
    clipped = clip(record, 10)
    assert clipped["messages"][0]["content"] == "a" * 10 + "…[truncated: 40 of 50 chars]"
    assert clipped["n"] == 3 and clipped["short"] == "ok"


@pytest.mark.parametrize("mode", ["huge", "endless", "trickle"])
def test_every_bounded_request_ends_by_its_deadline_or_its_cap(mode: str) -> None:
    server = HostileServer(mode, interval=0.2).start()
    try:
        session = bound_session(requests.Session(), HttpLimits(deadline_s=1.0, max_bytes=200_000))
        expected = RequestDeadlineExceeded if mode == "trickle" else ResponseTooLarge
        with pytest.raises(expected) as caught:
            session.get(server.url, timeout=30)  # per-read timeouts alone would not end it
        failure = classify(caught.value)
        assert failure.retryable is (mode == "trickle")  # a deadline is retried like a timeout
    finally:
        server.stop()


def test_chat_bodies_are_capped_near_max_answer_chars() -> None:
    context = Context(max_answer_chars=10_000, max_response_bytes=5_000_000)
    assert http_limits(context, "chat").max_bytes < 200_000
    assert http_limits(context, "arxiv").max_bytes == 5_000_000
    assert http_limits(context, "arxiv").deadline_s == 120.0


@pytest.mark.parametrize("mode", ["huge", "trickle"])
def test_a_hostile_arxiv_api_degrades_the_run(mode: str, tmp_path: Path) -> None:
    server = HostileServer(mode, interval=0.2).start()
    try:
        context = Context(
            search="arxiv",
            arxiv_api_url=server.url,
            arxiv_interval=0.0,
            arxiv_retries=1,
            arxiv_backoff=0.01,
            request_deadline_s=1.0,
            max_response_bytes=100_000,
            n_queries=2,
            max_revisions=0,
            cache_dir=str(tmp_path / "cache"),
        )
        result = run_research(GOAL, context, tmp_path / "run")
    finally:
        server.stop()
    report = json.loads(result.report_json.read_text())  # type: ignore[union-attr]
    failures = [u["message"] for u in report["uncertainties"] if u["kind"] == "failure"]
    reason = "RequestDeadlineExceeded" if mode == "trickle" else "ResponseTooLarge"
    assert sum(f"failed: {reason}" in m for m in failures) == 2, failures
    assert report["papers"] == [] and report["policy"] == "REJECT"
    # a deadline is retried (arxiv_retries=1: two requests per query), an oversized page not
    assert server.hits == (4 if mode == "trickle" else 2)
