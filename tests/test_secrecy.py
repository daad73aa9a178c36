"""No secret in any file: a model that echoes the API key it is called with leaves no copy of
the key (plain or base64) in any byte under the run folder or the cache folder — checkpoints
(blobs, pending writes, metadata, WAL), the model-call cache, trace, run.json, reports."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sovereign_agents.checkpoint_serde import RedactingSerializer
from sovereign_agents.redaction import MARK, redact, secret_values
from sovereign_agents.runner import serializer
from tests import HANG_GUARD_S

GOAL = "How does sparse mixture-of-experts routing reduce the inference cost of echo tests?"
SECRET = "nvapi-ECHOED-KEY-0123456789abcdefXYZ"


def forbidden(secret: str) -> list[bytes]:
    """The key and its base64, whole and at every byte alignment."""
    whole = base64.b64encode(secret.encode())
    cores = [
        base64.b64encode(b"\0" * shift + secret.encode())[4 if shift else 0 :][:16]
        for shift in range(3)
    ]
    return [secret.encode(), whole, whole.rstrip(b"="), *cores]


def leaks(root: Path, secret: str) -> dict[str, int]:
    """Occurrences of the key (any form) in every byte of every file under ``root``."""
    found: dict[str, int] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        count = sum(data.count(form) for form in forbidden(secret))
        if count:
            found[str(path.relative_to(root))] = count
    return found


def decoded_checkpoints(path: Path) -> str:
    """Every checkpoint, pending write and metadata of a run, decoded, as one text."""
    serde = serializer()
    parts: list[str] = []
    with sqlite3.connect(path) as db:
        for type_, blob, meta in db.execute("SELECT type, checkpoint, metadata FROM checkpoints"):
            parts += [repr(serde.loads_typed((type_, blob))), bytes(meta or b"").decode()]
        for type_, blob in db.execute("SELECT type, value FROM writes"):
            parts.append(repr(serde.loads_typed((type_, blob))))
    return "\n".join(parts)


def run_cli(out: Path, env: dict[str, str], corpus: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "sovereign_agents", "run", GOAL, "--corpus", str(corpus),
            "--llm", "nvidia:fake", "--out", str(out), "--cache", "-q",
            "--set", "max_papers=3",
        ],
        env=env, capture_output=True, text=True, timeout=HANG_GUARD_S,
    )  # fmt: skip


@pytest.mark.integration
@pytest.mark.slow
def test_a_model_that_echoes_the_key_leaves_no_copy_in_any_file(
    fake_nim: Any, daily_corpus: Path, tmp_path: Path, isolated_cache: Path
) -> None:
    fake_nim.echo_key = True
    # the session's cache folder (its corpus indexes are warm); the goal is this test's own,
    # so no earlier answer is in its --cache database
    cache, runs = isolated_cache, tmp_path / "runs"
    env = {**os.environ, "NVIDIA_BASE_URL": fake_nim.url, "NVIDIA_API_KEY": SECRET}
    first = run_cli(runs / "first", env, daily_corpus)
    assert first.returncode == 0, first.stderr
    calls = len(fake_nim.chat_requests())
    assert calls > 0
    second = run_cli(runs / "second", env, daily_corpus)  # answered from the --cache database
    assert second.returncode == 0, second.stderr
    assert len(fake_nim.chat_requests()) == calls, "the rerun should be served by the cache"

    for proc in (first, second):
        assert SECRET not in proc.stdout + proc.stderr
    # the key did arrive in the answers, and was redacted rather than never sent
    report = json.loads((runs / "first" / "report.json").read_text())
    assert MARK in json.dumps(report)
    assert MARK.encode() in (runs / "first" / "trace.jsonl").read_bytes()
    assert (cache / "model-calls.sqlite").is_file()

    assert leaks(runs, SECRET) == {}
    assert leaks(cache, SECRET) == {}
    for run in ("first", "second"):
        text = decoded_checkpoints(runs / run / "checkpoints.sqlite")
        assert MARK in text
        assert not any(form.decode() in text for form in forbidden(SECRET))
    with sqlite3.connect(cache / "model-calls.sqlite") as db:
        answers = "\n".join(r[0] for r in db.execute("SELECT response FROM calls"))
    assert answers and MARK in answers


def test_the_checkpoint_serializer_redacts_every_blob_and_still_loads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from langchain_core.messages import AIMessage
    from langgraph.types import Send

    from sovereign_agents.schemas import Claim, Uncertainty

    monkeypatch.setenv("NVIDIA_API_KEY", SECRET)
    b64 = base64.b64encode(SECRET.encode()).decode()
    claim = Claim(
        id="C12345678", text=f"the key is {SECRET}", paper_id="2401.00001",
        evidence=f"echo {b64}", evidence_start=0, evidence_end=4,
    )  # fmt: skip
    value = {
        "claims": [claim],
        "messages": [AIMessage(content=f"x {SECRET}", response_metadata={"id": SECRET})],
        "send": Send("extract", {"paper": claim}),
        SECRET: (1, SECRET.encode()),
        "uncertainties": [Uncertainty(kind="failure", message="fine")],
    }
    serde = serializer()
    assert isinstance(serde, RedactingSerializer)
    type_, blob = serde.dumps_typed(value)
    assert not any(form in blob for form in forbidden(SECRET))
    back = serde.loads_typed((type_, blob))
    assert back["claims"][0].text == f"the key is {MARK}"
    assert back["claims"][0].evidence == f"echo {MARK}"
    assert back["messages"][0].content == f"x {MARK}"
    assert back["messages"][0].response_metadata == {"id": MARK}
    assert back["send"].arg["paper"].text == f"the key is {MARK}"
    assert back[MARK] == [1, MARK.encode()]
    # a blob with no secret is stored exactly as LangGraph's own serializer makes it
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    clean = {"claims": [claim.model_copy(update={"text": "clean", "evidence": "clean"})]}
    assert serde.dumps_typed(clean) == JsonPlusSerializer().dumps_typed(clean)


def test_redaction_catches_base64_of_a_secret_at_any_alignment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOME_SERVICE_TOKEN", "plain-looking-value-42")
    assert "plain-looking-value-42" in secret_values()
    for prefix in (b"", b"a", b"ab"):
        encoded = base64.b64encode(prefix + b"plain-looking-value-42 and more").decode()
        assert MARK in redact(f"header {encoded}")
    # prose that merely looks like a key prefix is left alone
    text = "task-specific-fine-tuning beats risk-sensitive-reinforcement-learning"
    assert redact(text) == text
