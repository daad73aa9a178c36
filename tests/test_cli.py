"""The CLI: a real run, and bad input as one clear line with a non-zero exit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import HANG_GUARD_S


def sovereign(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sovereign_agents", *args],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        cwd=cwd,
    )


@pytest.mark.slow
def test_run_writes_the_three_files(daily_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = sovereign(
        "run",
        "How does speculative decoding speed up LLM inference?",
        "--corpus",
        str(daily_corpus),
        "--llm",
        "extractive",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("report.md", "report.json", "trace.jsonl"):
        assert (out / name).is_file()
        assert str(out / name) in proc.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["goal"].startswith("How does speculative decoding")
    assert "search" in proc.stderr and "tribunal" in proc.stderr  # progress per node


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "   ", "--corpus", "{corpus}"], "research goal is empty"),
        (["run", "a goal", "--corpus", "{missing}"], "corpus file not found"),
        (["run", "a goal", "--corpus", "{broken}"], "no arXiv records"),
        (["run", "a goal", "--corpus", "{corpus}", "--llm", "gpt-9000"], "unknown"),
        (["run", "a goal", "--corpus", "{corpus}", "--paper", "9999.99999"], "not found"),
        (["run", "a goal", "--corpus", "{corpus}", "--embeddings", "word2vec"], "embeddings"),
    ],
)
@pytest.mark.slow
def test_bad_input_is_one_clear_line(
    args: list[str], message: str, daily_corpus: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text("this is not json\n")
    values = {
        "corpus": str(daily_corpus),
        "missing": str(tmp_path / "nope.jsonl"),
        "broken": str(broken),
    }
    proc = sovereign(*[a.format(**values) for a in args], "--out", str(tmp_path / "o"))
    assert proc.returncode != 0
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
