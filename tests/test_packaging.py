"""The wheel carries the prompts and runs outside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests import HANG_GUARD_S

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_carries_prompts_and_runs_from_elsewhere(tmp_path: Path, daily_corpus: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=HANG_GUARD_S,
    )
    wheel = next(dist.glob("sovereign_agents-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for role in (
        "planner",
        "extractor",
        "writer",
        "skeptic",
        "validator",
        "synthesizer",
        "reviser",
    ):
        assert f"sovereign_agents/_prompts/{role}/v1.md" in names
    assert "sovereign_agents/py.typed" in names

    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=HANG_GUARD_S,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sovereign_agents",
            "run",
            "How do sparse experts cut cost?",
            "--corpus",
            str(daily_corpus),
            "--out",
            "out",
            "-q",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert proc.returncode == 0, proc.stderr
    assert (elsewhere / "out" / "report.md").is_file()
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sovereign_agents.prompts as p; print(p.default_prompts_dir())",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip().startswith(str(target))
