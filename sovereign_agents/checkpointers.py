"""Where a run's checkpoints live: the run folder's SQLite file (the default) or PostgreSQL.

A *spec* names the place: ``None`` (or ``""`` / ``"sqlite"``) is ``DIR/checkpoints.sqlite``
of the run folder; ``postgresql://user:password@host:port/dbname`` (or ``postgres://``) is a
PostgreSQL database, through ``langgraph-checkpoint-postgres`` (the ``[postgres]`` extra).
``open_checkpointer(spec, run_dir)`` is the one way the project opens a checkpointer.

In PostgreSQL many runs share one database, each its own thread; beside LangGraph's tables a
``sovereign_runs`` table keeps each thread's run record (what ``run.json`` holds, never a
password), so ``sovereign resume --thread ID --out DIR`` continues a run from the thread id
alone, in another folder, process or machine. A password never leaves the process: specs are
recorded and printed through ``public_url``, and connection errors are one redacted line.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from pydantic import BaseModel

from sovereign_agents import goal, schemas, state
from sovereign_agents.checkpoint_serde import RedactingSerializer
from sovereign_agents.errors import ConfigError, InputError, SovereignError
from sovereign_agents.redaction import redact
from sovereign_agents.verification import base as verification_base

ENV = "SOVEREIGN_CHECKPOINTER"
SQLITE_FILE = "checkpoints.sqlite"
SQLITE, POSTGRES = "sqlite", "postgres"
SCHEMES = ("postgresql", "postgres")
CONNECT_TIMEOUT_S = 10
EXTRA_HINT = "pip install 'sovereign-agents[postgres]'"
RUNS_TABLE = "sovereign_runs"
NO_PASSWORD_HINT = (
    "the URL has no password, and run.json keeps none: give it with --checkpointer or "
    f"{ENV}, or set PGPASSWORD"
)


class CheckpointerUnavailable(SovereignError, RuntimeError):
    """The checkpoint database cannot be reached, refuses the login, or its driver is missing."""

    exit_code = 3


# --- the serializer -----------------------------------------------------------------------


def serde_allowlist() -> list[tuple[str, str]]:
    """The project's types a checkpoint may hold (for LangGraph's strict msgpack mode)."""
    return [
        (module.__name__, c.__name__)
        for module in (schemas, goal, verification_base, state)
        for c in (getattr(module, n) for n in dir(module))
        if isinstance(c, type)
        and c.__module__ == module.__name__
        and issubclass(c, BaseModel | Enum)
    ]


def serializer() -> RedactingSerializer:
    """LangGraph's serializer with the project's allowlist; every blob it writes is redacted."""
    return RedactingSerializer(allowed_msgpack_modules=serde_allowlist())


# --- specs --------------------------------------------------------------------------------


def parse_spec(spec: str | None) -> str | None:
    """``spec`` checked: None for the run folder's SQLite file, else a PostgreSQL URL."""
    if spec is None or spec.strip() in ("", SQLITE):
        return None
    spec = spec.strip()
    try:
        parts = urlsplit(spec)
        parts.port  # noqa: B018 -- raises on a port that is not a number
    except ValueError as exc:
        raise ConfigError(f"--checkpointer: not a URL ({public_url(spec)}): {exc}") from None
    if parts.scheme not in SCHEMES:
        raise ConfigError(
            f"--checkpointer takes 'sqlite' (the run folder's file, the default) or a "
            f"postgresql://user:password@host:port/dbname URL, not {public_url(spec)!r}"
        )
    return spec


def kind(spec: str | None) -> str:
    return SQLITE if parse_spec(spec) is None else POSTGRES


def public_url(spec: str) -> str:
    """``spec`` without its password (in the user part or a ``password=`` parameter)."""
    try:
        parts = urlsplit(spec)
    except ValueError:
        return redact(spec.split("@")[-1])
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}@{host}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k.lower() != "password"])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def describe(spec: str | None) -> dict[str, str]:
    """What run.json records of where the checkpoints are (never the password)."""
    url = parse_spec(spec)
    if url is None:
        return {"kind": SQLITE, "path": SQLITE_FILE}
    return {"kind": POSTGRES, "url": public_url(url)}


def spec_for_run(run: dict[str, Any], given: str | None) -> str | None:
    """The spec to open an existing run's checkpoints with: the place its run.json records.

    A run kept in its folder's SQLite file stays there whatever is given; a run kept in
    PostgreSQL is opened with the given URL (which carries the password) or else the recorded
    one (no password: libpq may still find one in PGPASSWORD or ~/.pgpass)."""
    recorded = run.get("checkpointer") or {}
    if not isinstance(recorded, dict) or recorded.get("kind", SQLITE) == SQLITE:
        return None
    given = parse_spec(given)
    if given is not None:
        return given
    url = recorded.get("url")
    if not isinstance(url, str) or not url:
        raise InputError("run.json records a postgres checkpointer without its URL")
    return parse_spec(url)


# --- opening ------------------------------------------------------------------------------


@contextmanager
def sqlite_checkpointer(path: Path) -> Iterator[SqliteSaver]:
    conn = sqlite3.connect(str(path), check_same_thread=False)
    try:
        yield SqliteSaver(conn, serde=serializer())
    finally:
        conn.close()


@contextmanager
def open_checkpointer(spec: str | None, run_dir: Path) -> Iterator[BaseCheckpointSaver[Any]]:
    """The checkpointer ``spec`` names (see the module doc), open for the ``with`` block.

    SQLite: ``run_dir/checkpoints.sqlite``. PostgreSQL: one connection, LangGraph's tables
    and ``sovereign_runs`` created if missing (``setup()``, once per database even when many
    processes open it at once). A bad URL, a server that is down, a refused login or a
    missing ``[postgres]`` extra is a ``SovereignError`` of one line without the password."""
    url = parse_spec(spec)
    if url is None:
        with sqlite_checkpointer(Path(run_dir) / SQLITE_FILE) as saver:
            yield saver
        return
    with postgres_checkpointer(url) as saver:
        yield saver


@contextmanager
def postgres_checkpointer(url: str) -> Iterator[Any]:
    try:
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
    except ImportError as exc:
        raise CheckpointerUnavailable(
            f"the postgres checkpointer needs the [postgres] extra ({exc.name} is missing): "
            f"{EXTRA_HINT}"
        ) from None
    where = public_url(url)
    try:
        conn = psycopg.Connection.connect(
            url,
            autocommit=True,
            prepare_threshold=0,
            row_factory=dict_row,
            connect_timeout=CONNECT_TIMEOUT_S,
        )
    except (psycopg.Error, ValueError) as exc:
        hint = "" if urlsplit(url).password else f" ({NO_PASSWORD_HINT})"
        raise CheckpointerUnavailable(
            f"cannot open the checkpoint database {where}: {reason(exc, url)}{hint}"
        ) from None
    try:
        saver = PostgresSaver(conn, serde=serializer())
        try:
            with setup_lock(conn):
                saver.setup()
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (thread_id TEXT PRIMARY KEY, "
                    "record JSONB NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
        except psycopg.Error as exc:
            raise CheckpointerUnavailable(
                f"cannot set up the checkpoint tables in {where}: {reason(exc, url)}"
            ) from None
        yield saver
    finally:
        conn.close()


def reason(exc: BaseException, url: str) -> str:
    """A driver error as one line, with nothing of the URL's secret in it."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    password = urlsplit(url).password if "@" in url else None
    if password:
        text = text.replace(password, "[REDACTED]")
    return redact(text.replace(url, public_url(url)))


@contextmanager
def setup_lock(conn: Any) -> Iterator[None]:
    """A session advisory lock around the migrations, so two processes opening a fresh
    database at once do not both create the tables."""
    key = advisory_key("sovereign:setup")
    conn.execute("SELECT pg_advisory_lock(%s)", (key,))
    try:
        yield
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


def advisory_key(name: str) -> int:
    """A signed 64-bit advisory-lock key for ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def thread_writer(saver: Any, thread_id: str) -> Iterator[None]:
    """Hold the thread's writer lock for as long as a run, resume or fork writes to it.

    A run folder's own lock (``run_folder.writer_lock``) covers the SQLite file; a thread in
    PostgreSQL can be continued from any folder on any machine, so a session advisory lock on
    the thread refuses a second writer at once (the server drops it when the process dies)."""
    if not is_postgres(saver):
        yield
        return
    key = advisory_key(f"sovereign:thread:{thread_id}")
    row = saver.conn.execute("SELECT pg_try_advisory_lock(%s) AS held", (key,)).fetchone()
    if not row["held"]:
        raise InputError(
            f"another sovereign process is writing thread {thread_id} in the checkpoint "
            "database; wait for it to finish"
        )
    try:
        yield
    finally:
        if not saver.conn.closed:
            saver.conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


def database_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is the checkpoint database's driver failing (a lost connection, a
    server that stopped) rather than a bug of the run."""
    return type(exc).__module__.split(".")[0] == "psycopg"


def is_postgres(saver: Any) -> bool:
    return type(saver).__module__.startswith("langgraph.checkpoint.postgres")


# --- run records and threads in PostgreSQL -------------------------------------------------


def save_run_record(saver: Any, thread_id: str, record: dict[str, Any]) -> None:
    """Keep a thread's run record beside its checkpoints (PostgreSQL only; the SQLite file
    lives in the folder that has run.json)."""
    if is_postgres(saver):
        saver.conn.execute(
            f"INSERT INTO {RUNS_TABLE} (thread_id, record) VALUES (%s, %s) "
            "ON CONFLICT (thread_id) DO UPDATE SET record = EXCLUDED.record",
            (thread_id, json.dumps(record, ensure_ascii=False)),
        )


def load_run_record(saver: Any, thread_id: str) -> dict[str, Any] | None:
    row = saver.conn.execute(
        f"SELECT record FROM {RUNS_TABLE} WHERE thread_id = %s", (thread_id,)
    ).fetchone()
    if row is None:
        return None
    record = row["record"]
    return json.loads(record) if isinstance(record, str) else dict(record)


def has_thread(saver: BaseCheckpointSaver[Any], thread_id: str) -> bool:
    return saver.get_tuple({"configurable": {"thread_id": thread_id}}) is not None


def copy_thread(saver: BaseCheckpointSaver[Any], source: str, target: str) -> None:
    """Every checkpoint of thread ``source`` (and its pending writes) into thread ``target``
    of the same database, ids kept, oldest first: a fork's own thread."""
    tuples = list(saver.list({"configurable": {"thread_id": source}}))
    for item in reversed(tuples):
        configurable = item.config["configurable"]
        ns = configurable.get("checkpoint_ns", "")
        parent = (item.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        config: dict[str, Any] = {"thread_id": target, "checkpoint_ns": ns}
        if parent:
            config["checkpoint_id"] = parent
        written = saver.put(
            {"configurable": config},
            item.checkpoint,
            item.metadata,
            dict(item.checkpoint["channel_versions"]),
        )
        by_task: dict[str, list[tuple[str, Any]]] = {}
        for task_id, channel, value in item.pending_writes or []:
            by_task.setdefault(task_id, []).append((channel, value))
        for task_id, writes in by_task.items():
            saver.put_writes(written, writes, task_id)
