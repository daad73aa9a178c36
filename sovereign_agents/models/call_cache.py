"""An optional SQLite cache of model responses: an identical rerun makes no model calls."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, messages_from_dict, messages_to_dict


class ModelCallCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        with sqlite3.connect(path) as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, response TEXT, "
                "created REAL)"
            )

    @staticmethod
    def key(
        model: str, mode: str, schema: dict[str, Any] | None, messages: list[BaseMessage]
    ) -> str:
        payload = json.dumps(
            [model, mode, schema, messages_to_dict(messages)], sort_keys=True, default=str
        )
        return hashlib.sha256(payload.encode()).hexdigest()

    def get(self, key: str) -> AIMessage | None:
        with self._lock, sqlite3.connect(self.path) as db:
            row = db.execute("SELECT response FROM calls WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        message = messages_from_dict([json.loads(row[0])])[0]
        return message if isinstance(message, AIMessage) else None

    def put(self, key: str, response: AIMessage) -> None:
        value = json.dumps(messages_to_dict([response])[0])
        with self._lock, sqlite3.connect(self.path) as db:
            db.execute("INSERT OR REPLACE INTO calls VALUES (?, ?, ?)", (key, value, time.time()))
