"""Checkpoints in PostgreSQL: a real server (tests/servers/postgres.py), real CLI processes.

A run paused or killed in one folder continues from its thread id alone in another process
and another, empty folder, and reaches the report an uninterrupted run reaches; history, fork
and replay work against the database; a bad URL, a server that is down, a wrong password or a
missing extra is one line; the password never reaches a file of a run folder, the database's
run records, stdout or stderr.
"""

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
from sovereign_agents.checkpointers import (
    describe,
    open_checkpointer,
    parse_spec,
    public_url,
    thread_writer,
)
from sovereign_agents.errors import ConfigError, InputError
from sovereign_agents.redaction import redact
from sovereign_agents.runner import resume_thread, run_history, run_research
from tests import HANG_GUARD_S
from tests.kill_points import comparable
from tests.servers.postgres import PASSWORD, PostgresServer

GOAL = (
    "Does the inference efficiency gain of sparse MoE vision-language models over dense VLMs "
    "on MMMU generalize to MathVista or ChartQA under equal FLOPs?"
)
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "SOVEREIGN_CHECKPOINTER"))}


def sovereign(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sovereign_agents", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**ENV, **(env or {})},
    )


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = sovereign(*args, env=env)
    stdout, stderr = proc.communicate(timeout=HANG_GUARD_S)
    completed = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    assert PASSWORD not in stdout + stderr, "the password was printed"
    return completed


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def assert_no_password(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def same_report(run: Path) -> Any:
    """The report two runs of the same goal share (not their ids, times or durations)."""
    data = comparable(run)
    assert data is not None, f"{run} has no report"
    for key in ("run_id", "thread_id"):
        data["json"].pop(key, None)
    return data


def thread_of(run: Path) -> str:
    return str(json.loads((run / "run.json").read_text())["thread_id"])


# --- without a server ------------------------------------------------------------------------


def test_specs_are_checked_and_printed_without_the_password() -> None:
    assert parse_spec(None) is None and parse_spec("") is None and parse_spec("sqlite") is None
    url = "postgresql://ann:s3cret-pass@db.example:5433/runs?sslmode=require&password=other"
    assert parse_spec(url) == url
    assert public_url(url) == "postgresql://ann@db.example:5433/runs?sslmode=require"
    assert describe(url) == {"kind": "postgres", "url": public_url(url)}
    assert describe(None) == {"kind": "sqlite", "path": "checkpoints.sqlite"}
    for bad in ("mysql://a:b@h/d", "checkpoints.db", "postgresql://a:b@h:notaport/d"):
        with pytest.raises(ConfigError) as caught:
            parse_spec(bad)
        assert "b@" not in str(caught.value)
    assert "s3cret-pass" not in redact(f"cannot reach {url}")


@pytest.mark.slow
def test_a_bad_checkpointer_is_one_line(daily_corpus: Path, tmp_path: Path) -> None:
    wrong = run_cli(
        "run", GOAL, "--corpus", str(daily_corpus), "--out", str(tmp_path / "a"),
        "--checkpointer", f"mysql://u:{PASSWORD}@127.0.0.1/db",
    )  # fmt: skip
    assert "--checkpointer takes" in one_line_error(wrong)
    assert wrong.returncode == 2
    from tests.servers.postgres import free_port

    down = f"postgresql://u:{PASSWORD}@127.0.0.1:{free_port()}/db"
    refused = run_cli(
        "run", GOAL, "--corpus", str(daily_corpus), "--out", str(tmp_path / "b"), "-q",
        env={"SOVEREIGN_CHECKPOINTER": down},
    )  # fmt: skip
    line = one_line_error(refused)
    assert "cannot open the checkpoint database postgresql://u@127.0.0.1" in line, line
    assert refused.returncode == 3
    assert not (tmp_path / "b" / "run.json").exists()


@pytest.mark.slow
def test_a_missing_extra_is_one_line(tmp_path: Path) -> None:
    """Without langgraph-checkpoint-postgres installed: one line naming the extra."""
    code = (
        "import sys; sys.modules['langgraph.checkpoint.postgres'] = None; "
        "from sovereign_agents.cli import main; sys.argv = ['sovereign'] + sys.argv[1:]; main()"
    )
    (tmp_path / "run.json").write_text(
        json.dumps(
            {"run_id": "r", "thread_id": "r", "goal": "g",
             "checkpointer": {"kind": "postgres", "url": "postgresql://u@127.0.0.1:1/db"}}
        )
    )  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", code, "history", str(tmp_path), "--checkpointer",
         f"postgresql://u:{PASSWORD}@127.0.0.1:1/db"],
        capture_output=True, text=True, timeout=HANG_GUARD_S, env=ENV, check=False,
    )  # fmt: skip
    line = one_line_error(subprocess.CompletedProcess(proc.args, proc.returncode, "", proc.stderr))
    assert "[postgres] extra" in line and "pip install" in line, line
    assert PASSWORD not in proc.stdout + proc.stderr


# --- against a real server -------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg(postgres_server: PostgresServer) -> str:
    return postgres_server.url


@pytest.fixture(scope="module")
def uninterrupted(pg: str, daily_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uninterrupted CLI run checkpointed in PostgreSQL: the reference."""
    run = tmp_path_factory.mktemp("pg-whole") / "run"
    result = run_cli(
        "run", GOAL, "--corpus", str(daily_corpus), "--out", str(run), "-q", "--checkpointer", pg
    )
    assert result.returncode == 0, result.stderr
    assert "thread: " in result.stdout and "127.0.0.1" in result.stdout
    return run


@pytest.mark.slow
@pytest.mark.integration
def test_an_uninterrupted_run_keeps_its_folder_but_not_its_checkpoints(
    uninterrupted: Path, pg: str, postgres_server: PostgresServer
) -> None:
    run = json.loads((uninterrupted / "run.json").read_text())
    assert run["checkpointer"] == {"kind": "postgres", "url": public_url(pg)}
    assert run["thread_id"] == run["run_id"]
    for name in ("report.md", "report.json", "report.html", "trace.jsonl"):
        assert (uninterrupted / name).is_file(), name
    assert not (uninterrupted / "checkpoints.sqlite").exists()
    assert json.loads((uninterrupted / "report.json").read_text())["thread_id"] == run["thread_id"]
    assert_no_password(uninterrupted)
    import psycopg

    with psycopg.connect(pg) as conn:
        (record,) = conn.execute(
            "SELECT record::text FROM sovereign_runs WHERE thread_id = %s", (run["thread_id"],)
        ).fetchone()
        checkpoints = conn.execute(
            "SELECT count(*) FROM checkpoints WHERE thread_id = %s", (run["thread_id"],)
        ).fetchone()[0]
    assert PASSWORD not in record and json.loads(record)["goal"] == GOAL
    assert checkpoints > 10


@pytest.mark.slow
@pytest.mark.integration
def test_a_paused_run_resumes_from_the_thread_alone_in_another_folder(
    uninterrupted: Path, pg: str, daily_corpus: Path, tmp_path: Path
) -> None:
    first, elsewhere = tmp_path / "machine-a", tmp_path / "machine-b"
    paused = run_cli(
        "run", GOAL, "--corpus", str(daily_corpus), "--out", str(first), "-q",
        "--checkpointer", pg, "--interrupt-after", "verify",
    )  # fmt: skip
    assert paused.returncode == 0, paused.stderr
    assert "paused at:" in paused.stdout and "--thread" in paused.stdout
    thread = thread_of(first)
    # the other machine has only the URL (from the environment) and the thread id
    resumed = run_cli(
        "resume", "--thread", thread, "--out", str(elsewhere), "-q",
        env={"SOVEREIGN_CHECKPOINTER": pg},
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert same_report(elsewhere) == same_report(uninterrupted)
    assert thread_of(elsewhere) == thread
    assert json.loads((elsewhere / "run.json").read_text())["goal"] == GOAL
    for folder in (first, elsewhere):
        assert_no_password(folder)
    # the thread's whole history is in the database, whichever folder asks
    steps = run_cli("history", str(first), "--json", "--checkpointer", pg)
    assert steps.returncode == 0, steps.stderr
    assert [e["checkpoint_id"] for e in json.loads(steps.stdout)] == [
        e.checkpoint_id for e in run_history(elsewhere, pg)
    ]
    # the finished thread is not resumed twice into its folder
    again = run_cli("resume", str(elsewhere), "--checkpointer", pg)
    assert "has finished" in one_line_error(again)


def traced_nodes(run: Path) -> int:
    path = run / "trace.jsonl"
    if not path.is_file():
        return 0
    return sum('"event": "node"' in line for line in path.read_text().splitlines())


@pytest.mark.slow
@pytest.mark.integration
def test_a_killed_run_resumes_from_postgres_in_a_new_process_and_folder(
    uninterrupted: Path, pg: str, daily_corpus: Path, tmp_path: Path
) -> None:
    killed, elsewhere = tmp_path / "killed", tmp_path / "new"
    after = traced_nodes(uninterrupted) // 2
    proc = sovereign(
        "run", GOAL, "--corpus", str(daily_corpus), "--out", str(killed), "-q",
        "--checkpointer", pg,
    )  # fmt: skip
    try:
        while traced_nodes(killed) < after:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.005)
    finally:
        proc.send_signal(signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=HANG_GUARD_S)
    assert PASSWORD not in stdout + stderr
    assert not (killed / "report.md").exists(), "the kill came too late"
    resumed = run_cli(
        "resume", "--checkpointer", pg, "--thread", thread_of(killed), "--out", str(elsewhere),
        "-q",
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert same_report(elsewhere) == same_report(uninterrupted)
    # the new folder's trace starts where the kill left the run: no node ran twice in total
    assert traced_nodes(killed) + traced_nodes(elsewhere) >= traced_nodes(uninterrupted)
    assert traced_nodes(elsewhere) < traced_nodes(uninterrupted)
    assert_no_password(killed)
    assert_no_password(elsewhere)


@pytest.mark.slow
@pytest.mark.integration
def test_fork_and_replay_against_postgres(
    uninterrupted: Path, pg: str, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    before = run_history(uninterrupted, pg)
    at = next(e for e in before if "tribunal" in " ".join(e.next) or "skeptic" in e.next)
    fork_dir = tmp_path / "fork"
    forked = run_cli(
        "fork", str(uninterrupted), "--at", at.checkpoint_id, "--out", str(fork_dir), "-q",
        "--checkpointer", pg,
    )  # fmt: skip
    assert forked.returncode == 0, forked.stderr
    assert same_report(fork_dir) == same_report(uninterrupted)
    fork_run = json.loads((fork_dir / "run.json").read_text())
    assert fork_run["thread_id"] != thread_of(uninterrupted)
    assert fork_run["forked_from"]["thread"] == thread_of(uninterrupted)
    # the original thread is left as it was; the fork's shares its past up to the fork point
    assert [e.checkpoint_id for e in run_history(uninterrupted, pg)] == [
        e.checkpoint_id for e in before
    ]
    fork_ids = [e.checkpoint_id for e in run_history(fork_dir, pg)]
    assert at.checkpoint_id in fork_ids
    assert fork_ids[: fork_ids.index(at.checkpoint_id) + 1] == [
        e.checkpoint_id for e in before[: before.index(at) + 1]
    ]
    replayed = run_cli(
        "replay", str(uninterrupted), "--out", str(tmp_path / "replay"), "-q",
        env={"SOVEREIGN_CHECKPOINTER": pg},
    )  # fmt: skip
    assert replayed.returncode == 0, replayed.stderr
    assert "replay matches" in replayed.stdout
    replay_run = json.loads((tmp_path / "replay" / "run.json").read_text())
    assert replay_run["checkpointer"]["kind"] == "postgres"
    assert replay_run["thread_id"] != thread_of(uninterrupted)
    for folder in (fork_dir, tmp_path / "replay"):
        assert_no_password(folder)


@pytest.mark.slow
@pytest.mark.integration
def test_a_thread_has_one_writer_and_bad_threads_are_refused(
    pg: str, postgres_server: PostgresServer, daily_corpus: Path, tmp_path: Path
) -> None:
    paused = run_research(
        GOAL,
        Context(corpus=str(daily_corpus)),
        tmp_path / "a",
        interrupt_after=["plan"],
        checkpointer=pg,
    )
    assert paused.paused
    with (
        open_checkpointer(pg, tmp_path) as saver,
        thread_writer(saver, paused.thread_id),
        pytest.raises(InputError, match="another sovereign process is writing thread"),
    ):
        resume_thread(paused.thread_id, tmp_path / "b", pg)
    unknown = run_cli("resume", "--checkpointer", pg, "--thread", "nope", "--out", str(tmp_path))
    assert "no run has thread 'nope'" in one_line_error(unknown)
    no_url = run_cli("resume", "--thread", paused.thread_id, "--out", str(tmp_path / "c"))
    assert "needs a postgresql://" in one_line_error(no_url)
    forgotten = run_cli("history", str(tmp_path / "a"))  # the folder's URL has no password
    assert "give it with --checkpointer" in one_line_error(forgotten)
    wrong = pg.replace(PASSWORD, "not-the-password")
    refused = run_cli("history", str(tmp_path / "a"), "--checkpointer", wrong)
    line = one_line_error(refused)
    assert "password authentication failed" in line and "not-the-password" not in line, line
    # the same thread id cannot start a second run in the shared database
    with pytest.raises(InputError, match="already has checkpoints"):
        run_research(GOAL, Context(corpus=str(daily_corpus)), tmp_path / "d",
                     run_id=paused.thread_id, checkpointer=pg)  # fmt: skip


@pytest.mark.slow
@pytest.mark.integration
def test_a_server_that_goes_away_mid_run_is_one_line_and_the_run_resumes_after(
    uninterrupted: Path, daily_corpus: Path, tmp_path: Path
) -> None:
    """The database stops dead mid-run (a crash of its own, not the session's server): the
    run ends with one line saying how to continue; once the server is back, resume finishes
    with the uninterrupted run's report."""
    from tests.servers.postgres import binaries

    bin_dir = binaries()
    assert bin_dir is not None
    server = PostgresServer(bin_dir).start()
    try:
        run = tmp_path / "run"
        proc = sovereign(
            "run", GOAL, "--corpus", str(daily_corpus), "--out", str(run), "-q",
            "--checkpointer", server.url,
        )  # fmt: skip
        try:
            while traced_nodes(run) < 3:
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.005)
            server.crash()
            stdout, stderr = proc.communicate(timeout=HANG_GUARD_S)
        finally:
            proc.kill()
        assert PASSWORD not in stdout + stderr
        line = one_line_error(subprocess.CompletedProcess(proc.args, proc.returncode, "", stderr))
        assert proc.returncode == 3
        assert "the checkpoint database failed" in line and f"sovereign resume {run}" in line
        server.boot()
        resumed = run_cli("resume", str(run), "-q", env={"SOVEREIGN_CHECKPOINTER": server.url})
        assert resumed.returncode == 0, resumed.stderr
        assert same_report(run) == same_report(uninterrupted)
        assert_no_password(run)
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.integration
def test_a_batch_keeps_its_checkpoints_in_postgres_and_skips_what_finished(
    uninterrupted: Path, pg: str, daily_corpus: Path, tmp_path: Path
) -> None:
    """``sovereign batch --checkpointer URL``: each goal's checkpoints go to the database under
    a thread of its own batch folder, the folders get everything else, a second pass skips the
    finished goal, and the password is in no file and no output."""
    goals = tmp_path / "goals.jsonl"
    goals.write_text(json.dumps({"goal": GOAL}) + "\n", encoding="utf-8")
    out = tmp_path / "batch"
    args = ("batch", str(goals), "--out", str(out), "--corpus", str(daily_corpus), "--sequential")
    first = run_cli(*args, "-q", "--checkpointer", pg)
    assert first.returncode == 0, first.stderr
    assert PASSWORD not in first.stdout + first.stderr
    (run,) = json.loads((out / "batch.json").read_text())["runs"]
    assert run["status"] == "finished"
    folder = out / run["folder"]
    record = json.loads((folder / "run.json").read_text())
    assert record["checkpointer"] == {"kind": "postgres", "url": public_url(pg)}
    assert record["thread_id"].startswith(run["run_id"] + "-")  # one thread per batch folder
    assert not (folder / "checkpoints.sqlite").exists()
    assert same_report(folder) == same_report(uninterrupted)
    import psycopg

    with psycopg.connect(pg) as conn:
        checkpoints = conn.execute(
            "SELECT count(*) FROM checkpoints WHERE thread_id = %s", (record["thread_id"],)
        ).fetchone()[0]
    assert checkpoints > 10
    again = run_cli(*args, "-q", env={"SOVEREIGN_CHECKPOINTER": pg})
    assert again.returncode == 0, again.stderr
    assert json.loads((out / "batch.json").read_text())["runs"][0]["status"] == "skipped"
    assert_no_password(out)
