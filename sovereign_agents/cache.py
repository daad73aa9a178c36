"""On-disk cache folder and a small pickle cache keyed by content hashes."""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def cache_dir(configured: str | None = None) -> Path:
    base = configured or os.environ.get("SOVEREIGN_CACHE_DIR")
    path = Path(base) if base else Path.home() / ".cache" / "sovereign-agents"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cached_pickle(path: Path, build: Callable[[], T]) -> tuple[T, bool]:
    """Load ``path`` if it holds a pickle, else build, store atomically and return.

    Returns ``(value, hit)``. A corrupt cache file is rebuilt, never trusted.
    """
    if path.exists():
        try:
            with path.open("rb") as handle:
                return pickle.load(handle), True
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            path.unlink(missing_ok=True)
    value = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return value, False
