"""What every command of the ``sovereign`` CLI shares: the consoles, one-line errors, the
``KEY=JSON`` option parsing, the guard around a run and how a run's outcome is printed.

The command modules import their helpers from here and nothing from each other; ``app``
assembles them."""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from sovereign_agents.errors import ConfigError, SovereignError
from sovereign_agents.escaping import one_line, rich_safe, terminal
from sovereign_agents.presets import PRESETS
from sovereign_agents.redaction import redact
from sovereign_agents.wording import score

if TYPE_CHECKING:
    from sovereign_agents.runner import RunResult


class SafeConsole(Console):
    """A console that strips escape sequences and control characters from every string it
    prints (data is interpolated through ``rich_safe``, which also escapes rich markup)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(terminal(o) if isinstance(o, str) else o for o in objects), **kwargs)


err = SafeConsole(stderr=True, highlight=False)
out = SafeConsole(highlight=False)


def fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {rich_safe(one_line(redact(message)))}", soft_wrap=True)
    raise typer.Exit(code)


def progress_printer(quiet: bool) -> Any:
    def show(event: dict[str, Any]) -> None:
        if quiet:
            return
        if event.get("event") == "progress":
            message = rich_safe(redact(str(event["message"])))
            err.print(f"[cyan]{rich_safe(event['node']):>11}[/] {message}", soft_wrap=True)

    return show


def parse_knobs(values: list[str]) -> dict[str, Any]:
    """``KEY=JSON`` pairs for context knobs (a bare word is taken as a string): a flat key
    (``max_papers``) or a dotted one (``search.max_papers``). Each is checked now, so a bad
    key or value is one line before anything runs."""
    knobs: dict[str, Any] = {}
    for value in values:
        key, sep, raw = value.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set takes KEY=JSON with KEY a context knob, not {value!r}")
        knobs[key.strip()] = json_value(raw)
    from sovereign_agents.context import Context

    Context(**knobs)  # a ConfigError naming the knob
    return knobs


PresetName = Annotated[
    str | None,
    typer.Option(
        "--preset",
        help="start from a named context preset (explicit options and --set win): "
        + ", ".join(PRESETS),
    ),
]


CheckpointerOption = Annotated[
    str | None,
    typer.Option(
        "--checkpointer",
        help="where the checkpoints go: 'sqlite' (the run folder's file, the default) or "
        "postgresql://user:password@host:port/dbname (the [postgres] extra); default "
        "$SOVEREIGN_CHECKPOINTER",
        show_default=False,
    ),
]


def checkpointer_spec(given: str | None) -> str | None:
    """The ``--checkpointer`` option, else ``$SOVEREIGN_CHECKPOINTER``, checked: None for the
    run folder's SQLite file, else a PostgreSQL URL (a bad one is a ConfigError)."""
    from sovereign_agents.checkpointers import ENV, parse_spec

    return parse_spec(given if given is not None else os.environ.get(ENV))


def json_value(raw: str) -> Any:
    """The value of a ``KEY=JSON`` option: JSON, or a bare word taken as a string."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_role_llms(values: list[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        role, sep, spec = value.partition("=")
        if not sep or not role.strip() or not spec.strip():
            raise ConfigError(f"--role-llm takes ROLE=SPEC, not {value!r}")
        pairs[role.strip()] = spec.strip()
    return pairs


@contextmanager
def reported() -> Iterator[None]:
    """Bad input or an unreachable service (a SovereignError) becomes one line on stderr
    and the error's exit code, never a traceback."""
    try:
        yield
    except SovereignError as exc:
        fail(str(exc), exc.exit_code)


@contextmanager
def guarded(run_dir: Path) -> Iterator[None]:
    """A bug in a run becomes one line; the run folder keeps what was produced. Ctrl-C or
    SIGTERM stops the run at once with one line saying how to continue it."""
    try:
        with stoppable(run_dir), one_error_per_failure():
            yield
    except SovereignError:
        raise
    except Exception as exc:
        if os.environ.get("SOVEREIGN_DEBUG"):
            raise
        from sovereign_agents.checkpointers import database_failure

        if database_failure(exc):
            fail(
                f"the checkpoint database failed: {exc} (every step saved before is kept in "
                f"it; `sovereign resume {run_dir}` continues once it is back)",
                3,
            )
        if disk_full(exc):
            then = (
                f"`sovereign resume {run_dir}` continues from the last checkpoint"
                if (run_dir / "run.json").is_file()
                else "run again"
            )
            fail(f"disk full while writing {run_dir} ({exc}); free some space, then {then}", 1)
        fail(
            f"unexpected {type(exc).__name__}: {exc} (checkpoints and trace kept in "
            f"{run_dir}; `sovereign resume {run_dir}` continues; set SOVEREIGN_DEBUG=1 for "
            "the traceback)",
            1,
        )


class _DriverTeardownNoise(logging.Filter):
    """Drops psycopg's "error ignored terminating <Pipeline>" warnings: when the checkpoint
    database goes away mid-run the driver logs them besides the error the run fails with."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("error ignored terminating")


@contextmanager
def one_error_per_failure() -> Iterator[None]:
    """While the CLI (the process's owner) runs a command: a lost database connection is the
    one error line it prints, without the driver's teardown warnings (on stderr through
    logging's last-resort handler, as no handler is configured)."""
    driver, noise = logging.getLogger("psycopg"), _DriverTeardownNoise()
    driver.addFilter(noise)
    try:
        yield
    finally:
        driver.removeFilter(noise)


def disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return isinstance(exc, sqlite3.OperationalError) and "full" in str(exc)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def stoppable(run_dir: Path) -> Iterator[None]:
    """While a run writes into ``run_dir``, SIGINT and SIGTERM end the process at once.

    Nothing is lost that a resume needs: every finished step is checkpointed and every
    finished task's writes are saved as it finishes, so stopping is a kill that resume is
    built for -- and waiting for in-flight model calls (minutes) is what a user pressing
    Ctrl-C does not want. The handler writes one line with ``os.write`` (no lock it could
    deadlock on) and leaves with ``os._exit`` (no thread to join)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        name = signal.Signals(signum).name
        line = (
            f"stopped by {name}; checkpoints kept in {run_dir}; continue with "
            f"`sovereign resume {run_dir}`\n"
        )
        os.write(sys.stderr.fileno(), line.encode(errors="replace"))
        os._exit(128 + signum)

    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def print_result(result: RunResult) -> None:
    """The outcome of a run: where its files are, or where it paused and how to go on."""
    if result.paused:
        where = rich_safe(", ".join(result.next))
        out.print(f"paused at: {where} (checkpoint {rich_safe(result.checkpoint_id)})")
        disputed = [
            c for p in result.interrupts if isinstance(p, dict) for c in p.get("claims", [])
        ]
        for claim in disputed:
            out.print(
                f"  disputed {rich_safe(claim['id'])} ({claim['confidence']:.3f}, "
                f"{'verified' if claim['verified'] else 'unverified'}): "
                f"{rich_safe(one_line(claim['text']))}",
                soft_wrap=True,
            )
            for reason in claim["reasons"]:
                out.print(f"      - {rich_safe(one_line(reason))}", soft_wrap=True)
        verdicts = " ".join(f"--verdict {c['id']}=supported|rejected" for c in disputed)
        out.print(
            f"continue: sovereign resume {result.out_dir} {verdicts}".rstrip(),
            soft_wrap=True,
            markup=False,
        )
        out.print(f"inspect:  sovereign history {result.out_dir}", soft_wrap=True, markup=False)
        if result.checkpointer.get("url"):
            out.print(
                f"elsewhere: sovereign resume --checkpointer {result.checkpointer['url']} "
                f"--thread {result.thread_id} --out DIR (add the password, or set PGPASSWORD)",
                soft_wrap=True,
                markup=False,
            )
        return
    out.print(decision_line(result.values), soft_wrap=True, markup=False)
    out.print(f"report: {result.report_md}", soft_wrap=True, markup=False)
    out.print(f"json:   {result.report_json}", soft_wrap=True, markup=False)
    out.print(f"html:   {result.report_html}", soft_wrap=True, markup=False)
    out.print(f"trace:  {result.trace}", soft_wrap=True, markup=False)
    if result.checkpointer.get("url"):
        where = f"{result.thread_id} in {result.checkpointer['url']}"
        out.print(f"thread: {where}", soft_wrap=True, markup=False)


def decision_line(values: dict[str, Any]) -> str:
    """The run's outcome as one sentence: the policy's decision stands, with its reason; the
    tribunal's verdict is named beside it (with its score when the reason does not give it)."""
    decision = values.get("decision")
    if isinstance(decision, dict):
        reason = str(decision.get("reason", ""))
    else:
        reason = str(getattr(decision, "reason", ""))
    mean = score(float(values.get("tribunal_score", 0.0)))
    verdict = values.get("verdict", "?")
    at = "" if mean in reason else f" at {mean}/10"
    return (
        f"Decision: {values.get('policy', '?')} — {reason or 'no reason recorded'}; "
        f"the tribunal's verdict was {verdict}{at}, the policy decides."
    )
