"""An optional SQLite cache of model responses: an identical rerun makes no model calls.

* Data only: answers are stored as JSON (LangChain's message dicts), never pickled, and
  redacted before they are stored.
* Keyed by a hash of the endpoint (base URL), model, request mode, schema and messages, so
  two servers that serve a model of the same name never share answers.
* Validated: a file that is not this cache (not SQLite, another schema or format version,
  corrupt, found when opened or on any later read or write) is set aside (``<name>.corrupt``) and rebuilt empty; an entry that does not load
  as an answer is dropped. Either way a warning is logged and the next model call of the run
  reports it (``take_notices``), naming the file, so the report's Uncertainties say so.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, messages_from_dict, messages_to_dict

from sovereign_agents.redaction import redact_data

logger = logging.getLogger(__name__)

FORMAT = "sovereign-model-calls/2"  # bump when keys or values change meaning
_LOCKS: dict[Path, threading.Lock] = {}
_NOTICES: dict[Path, list[str]] = {}  # per file, reported once by the next call that uses it
_REGISTRY_LOCK = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    with _REGISTRY_LOCK:
        return _LOCKS.setdefault(path, threading.Lock())


def _notice(path: Path, message: str) -> None:
    logger.warning("%s", message)
    with _REGISTRY_LOCK:
        _NOTICES.setdefault(path, []).append(message)


class ModelCallCache:
    def __init__(self, path: Path) -> None:
        self.path = Path(path).resolve()
        self._lock = _lock_for(self.path)
        with self._lock:
            problem = self._problem()
            if problem is not None:
                self._rebuild(problem)

    # --- the file -------------------------------------------------------------------------
    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One connection, committed and closed (sqlite3's own context manager only commits)."""
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:
                yield db
        finally:
            db.close()

    def _problem(self) -> str | None:
        """Why the file cannot serve as this cache (None: it can; a missing file is created)."""
        try:
            with self._connect() as db:
                tables = {
                    r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
                }
                if not tables:
                    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                    db.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
                    db.execute(
                        "CREATE TABLE calls (key TEXT PRIMARY KEY, response TEXT NOT NULL, "
                        "created REAL NOT NULL)"
                    )
                    return None
                if tables != {"meta", "calls"}:
                    return f"unexpected tables {sorted(tables)}"
                row = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
                if row is None or row[0] != FORMAT:
                    return f"format {row[0] if row else None!r}, expected {FORMAT!r}"
                columns = [r[1] for r in db.execute("PRAGMA table_info(calls)")]
                if columns != ["key", "response", "created"]:
                    return f"unexpected columns {columns}"
                # no full integrity check here (it reads the whole file, once per role engine):
                # a damaged page raises on use, and get/put rebuild then (``_recover``)
        except sqlite3.Error as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    def _rebuild(self, problem: str) -> None:
        aside = self.path.with_name(self.path.name + ".corrupt")
        try:
            os.replace(self.path, aside)
        except OSError:
            self.path.unlink(missing_ok=True)
        for suffix in ("-wal", "-shm", "-journal"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)
        _notice(
            self.path,
            f"the model-call cache {self.path} could not be used ({problem}); it was set aside "
            f"as {aside.name} and rebuilt empty, so this run asked the model again",
        )
        again = self._problem()
        if again is not None:
            raise OSError(f"cannot create the model-call cache {self.path}: {again}")

    def _recover(self, exc: sqlite3.Error) -> None:
        """The file broke while the run was using it: rebuild it (under the lock)."""
        self._rebuild(f"{type(exc).__name__}: {exc}")

    def take_notices(self) -> list[str]:
        """What happened to this cache file that the run should report (each said once)."""
        with _REGISTRY_LOCK:
            return _NOTICES.pop(self.path, [])

    # --- entries --------------------------------------------------------------------------
    @staticmethod
    def key(
        model: str,
        mode: str,
        schema: dict[str, Any] | None,
        messages: list[BaseMessage],
        endpoint: str = "",
    ) -> str:
        payload = json.dumps(
            [FORMAT, endpoint, model, mode, schema, messages_to_dict(messages)],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(payload.encode()).hexdigest()

    def get(self, key: str) -> AIMessage | None:
        with self._lock:
            try:
                with self._connect() as db:
                    row = db.execute("SELECT response FROM calls WHERE key = ?", (key,)).fetchone()
            except sqlite3.Error as exc:
                self._recover(exc)
                return None
        if row is None:
            return None
        try:
            data = json.loads(row[0])
            if not (isinstance(data, dict) and data.get("type") == "ai"):
                raise ValueError("not an AI message")
            message = messages_from_dict([data])[0]
            if not isinstance(message, AIMessage):
                raise ValueError("not an AI message")
        except (ValueError, TypeError, KeyError) as exc:
            self._drop(key, f"{type(exc).__name__}: {exc}")
            return None
        return message

    def _drop(self, key: str, problem: str) -> None:
        with self._lock:
            try:
                with self._connect() as db:
                    db.execute("DELETE FROM calls WHERE key = ?", (key,))
            except sqlite3.Error as exc:
                self._recover(exc)
                return
        _notice(
            self.path,
            f"an entry of the model-call cache {self.path} did not load ({problem[:200]}); "
            "it was dropped and the model asked again",
        )

    def put(self, key: str, response: AIMessage) -> None:
        value = json.dumps(redact_data(messages_to_dict([response])[0]), ensure_ascii=False)
        with self._lock:
            try:
                with self._connect() as db:
                    db.execute(
                        "INSERT OR REPLACE INTO calls VALUES (?, ?, ?)", (key, value, time.time())
                    )
            except sqlite3.Error as exc:
                self._recover(exc)
