"""Bad input through the real CLI: one clear line on stderr and a non-zero exit, never a
traceback, never a hint to `resume` when resuming cannot help; or, where the input is only
partly bad (one unreadable corpus line, markup in a title), a normal result that says so."""

from __future__ import annotations

import json
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sovereign_agents.cli import app
from sovereign_agents.corpus import load_corpus
from tests import HANG_GUARD_S

MARKUP = "[/x] [bold]Sparse[/bold] mixture-of-experts routing [link=http://e.vil]cheap[/link]"


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def sovereign(*args: str) -> Outcome:
    """The CLI in this process (typer's CliRunner); an exception that escaped it counts as
    a traceback on stderr."""
    result = CliRunner().invoke(app, list(args))
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "Traceback " + "".join(traceback.format_exception(result.exception))
    return Outcome(result.exit_code, result.stdout, stderr)


def process(*args: str) -> Outcome:
    """The CLI as a real process."""
    proc = subprocess.run(
        [sys.executable, "-m", "sovereign_agents", *args],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


def clean_failure(proc: Outcome) -> str:
    """The one stderr line of a clean failure (asserting everything a clean failure is)."""
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    assert "sovereign resume" not in proc.stderr  # resuming cannot help with bad input
    return lines[0]


def deep_line(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, daily_corpus: Path) -> Path:
    """300 real records, a 100,000-deep nested line, and records with rich markup."""
    lines = daily_corpus.read_text().splitlines()[:300]
    hostile = {
        "id": "2601.00001",
        "title": MARKUP,
        "summary": (
            "Sparse [/x] mixture-of-experts routing reduces [red]inference cost[/red] for "
            "vision-language models by activating few experts per token. "
            "Our sparse mixture-of-experts model achieves 12% lower inference cost than dense "
            "models of equal quality on [/] standard benchmarks."
        ),
        "authors": ["A. B."],
        "categories": ["cs.CL"],
        "abs": "https://arxiv.org/abs/2601.00001",
    }
    path = tmp_path_factory.mktemp("bad-input") / "c.jsonl"
    path.write_text("\n".join([lines[0], deep_line(), *lines[1:], json.dumps(hostile)]) + "\n")
    return path


def test_a_deeply_nested_line_is_skipped_counted_and_reported(corpus: Path, tmp_path: Path) -> None:
    papers, report = load_corpus(corpus)
    assert len(papers) == 301 and report.skipped == 1
    assert report.first_error == "line 2: nested too deeply"
    out = tmp_path / "run"
    proc = sovereign(
        "run", "How does sparse mixture-of-experts routing reduce inference cost?",
        "--corpus", str(corpus), "--out", str(out), "-q",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / "report.json").read_text())
    notes = [u["message"] for u in data["uncertainties"]]
    assert any("1 line(s) of the corpus c.jsonl were skipped" in n for n in notes), notes
    assert "1 unreadable lines skipped" in data["search"]
    assert "were skipped as unreadable" in (out / "report.md").read_text()


def test_a_corpus_of_only_a_deep_line_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text(deep_line() + "\n")
    line = clean_failure(process("search", "experts", "--corpus", str(path)))
    assert "no arXiv records" in line and "nested too deeply" in line


def test_a_byte_order_mark_does_not_drop_the_first_record(
    tmp_path: Path, daily_corpus: Path
) -> None:
    lines = daily_corpus.read_text().splitlines()[:50]
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode())
    papers, report = load_corpus(path)
    first = json.loads(lines[0])["id"]
    assert report.skipped == 0 and len(papers) == 50 and papers[0].id == first.split("v")[0]
    queries = tmp_path / "q.jsonl"
    queries.write_bytes(b'\xef\xbb\xbf{"id": "q1", "query": "language models"}\n')
    proc = sovereign("search", "--queries", str(queries), "--corpus", str(path), "--k", "3")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["id"] == "q1"


@pytest.mark.parametrize("query", ["[/x] mixture of experts", "[bold]experts[/", "[/]"])
def test_markup_in_a_query_or_title_is_printed_as_text(corpus: Path, query: str) -> None:
    proc = sovereign("search", query, "--corpus", str(corpus), "--k", "40")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert query in " ".join(proc.stdout.split())


def test_markup_in_titles_reaches_the_table_literally(corpus: Path) -> None:
    proc = sovereign("search", "sparse mixture-of-experts routing", "--corpus", str(corpus))
    assert proc.returncode == 0, proc.stderr
    assert "2601.00001" in proc.stdout and "[/x]" in proc.stdout and "[bold]" in proc.stdout


def test_trace_show_and_the_disputed_pause_print_markup_as_text(
    corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    goal = "How does [/x] sparse mixture-of-experts routing reduce inference cost?"
    proc = sovereign(
        "run", goal, "--corpus", str(corpus), "--out", str(out), "--paper", "2601.00001",
        "--review-disputed", "--set", "grey_zone=1",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "paused at: human_review" in proc.stdout
    assert "[/x]" in proc.stdout  # a disputed claim of the hostile paper, shown as written
    shown = sovereign("trace", "show", str(out), "--messages")
    assert shown.returncode == 0, shown.stderr
    assert "[/x]" in shown.stdout and "Traceback" not in shown.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "What?"], "no topic word"),
        (["run", "x?"], "no topic word"),
        (["run", "   "], "research goal is empty"),
        (["run", "mixture of experts", "--set", "lsa_dim=-5"], "lsa_dim must be >= 1"),
        (["run", "mixture of experts", "--set", "claims_per_paper=-1"], "claims_per_paper"),
        (["run", "mixture of experts", "--set", "min_relevance=NaN"], "min_relevance must be"),
        (["run", "mixture of experts", "--set", "max_papers=1.5"], "max_papers must be a whole"),
        (["run", "mixture of experts", "--set", "approve_threshold=Infinity"], "finite"),
        (["run", "mixture of experts", "--set", 'policy={"min_verified_claims": -2}'], ">= 0"),
        (["search", "[/x]", "--k", "0"], "--k must be >= 1"),
    ],
)
def test_bad_goals_and_knobs_are_one_clear_line(
    args: list[str], message: str, corpus: Path, tmp_path: Path
) -> None:
    extra = ["--corpus", str(corpus)] + (["--out", str(tmp_path / "o")] if args[0] == "run" else [])
    line = clean_failure(sovereign(*args, *extra))
    assert message in line
    assert not (tmp_path / "o" / "checkpoints.sqlite").exists()  # refused before running


BROKEN_RUN_JSON = ["[]", "null", '"run"', '{"run_id": 3}', "{", deep_line()]
COMMANDS = [["resume"], ["history"], ["replay"], ["fork", "--at", "x"]]


@pytest.mark.parametrize(
    ("content", "command"),
    [(c, ["resume"]) for c in BROKEN_RUN_JSON] + [("[]", c) for c in COMMANDS[1:]],
    ids=lambda v: str(v)[:12],
)
def test_a_broken_run_json_is_one_clear_line(
    content: str, command: list[str], tmp_path: Path
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(content)
    (run / "checkpoints.sqlite").touch()
    (run / "report.json").write_text("{}")
    line = clean_failure(sovereign(command[0], str(run), *command[1:]))
    assert "run.json" in line


@pytest.mark.parametrize("content", ["[]", "[1, 2]", deep_line(), "{"])
def test_a_broken_trace_is_one_clear_line(content: str, tmp_path: Path) -> None:
    (tmp_path / "trace.jsonl").write_text(content + "\n")
    line = clean_failure(sovereign("trace", "show", str(tmp_path)))
    assert "trace.jsonl" in line


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((), "--corpus PATH is required"),
        (("--corpus", "missing.jsonl"), "corpus file not found"),
        (("--corpus", "{kaggle}", "--records", "-5"), "--records must be >= 0"),
    ],
)
def test_bench_scale_bad_input_is_one_clear_line(
    args: tuple[str, ...], says: str, kaggle_corpus: Path
) -> None:
    argv = [a.replace("{kaggle}", str(kaggle_corpus)) for a in args]
    line = clean_failure(sovereign("bench", "scale", *argv))
    assert says in line
