"""The on-disk cache folder, and caches that carry no code and heal themselves.

Cache files live in a predictable place (``~/.cache/sovereign-agents`` or
``$SOVEREIGN_CACHE_DIR``), so they are treated as untrusted input: arrays are stored in
``.npz`` files read with ``allow_pickle=False`` (plain numbers and UTF-8 JSON bytes, never a
pickle), every load is validated (format version, the key it was built for, shapes, dtypes,
finite values) and any mismatch or damage means the file is rebuilt, with a warning that names
it. The caller gets that warning back as a note, so a run can list it in its Uncertainties.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

T = TypeVar("T")
log = logging.getLogger(__name__)


def cache_dir(configured: str | None = None) -> Path:
    base = configured or os.environ.get("SOVEREIGN_CACHE_DIR")
    path = Path(base) if base else Path.home() / ".cache" / "sovereign-agents"
    path.mkdir(parents=True, exist_ok=True)
    return path


class CacheInvalid(ValueError):
    """A cache file that must not be trusted; the message says why."""


@dataclass
class Cached(Generic[T]):
    """What ``cached_arrays`` returns: the value, whether it came from disk, and, when a
    damaged or mismatched file was replaced, a note saying which and why."""

    value: T
    hit: bool
    note: str | None = None


def json_bytes(value: Any) -> np.ndarray:
    """A JSON-able value as a uint8 array (how text goes into an npz without pickling)."""
    return np.frombuffer(json.dumps(value, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)


def from_json_bytes(array: np.ndarray) -> Any:
    if array.dtype != np.uint8 or array.ndim != 1:
        raise CacheInvalid(f"expected UTF-8 bytes, found {array.dtype} of shape {array.shape}")
    return json.loads(array.tobytes().decode("utf-8"))


def expect_array(
    arrays: Mapping[str, np.ndarray],
    name: str,
    *,
    kind: str,
    shape: tuple[int | None, ...],
    finite: bool = False,
) -> np.ndarray:
    """``arrays[name]`` checked: dtype kind ('f' float, 'i' signed int, 'u' unsigned),
    shape (None = any length on that axis) and, for floats, finiteness."""
    if name not in arrays:
        raise CacheInvalid(f"no array {name!r}")
    array = arrays[name]
    if array.dtype.kind != kind:
        raise CacheInvalid(f"{name} has dtype {array.dtype}, expected kind {kind!r}")
    if array.ndim != len(shape) or any(
        want is not None and got != want for got, want in zip(array.shape, shape, strict=True)
    ):
        raise CacheInvalid(f"{name} has shape {array.shape}, expected {shape}")
    if finite and not np.isfinite(array).all():
        raise CacheInvalid(f"{name} holds NaN or infinite values")
    return array


def expect_meta(meta: Any, **wanted: Any) -> dict[str, Any]:
    """The file's own record of what it is; each ``wanted`` key must match exactly."""
    if not isinstance(meta, dict):
        raise CacheInvalid("its metadata is not a JSON object")
    for key, value in wanted.items():
        if meta.get(key) != value:
            raise CacheInvalid(f"it was built for {key}={meta.get(key)!r}, not {value!r}")
    return meta


def _read(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        if not hasattr(archive, "files"):
            raise CacheInvalid("not an npz archive")
        return {name: archive[name] for name in archive.files}


def _write(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if any(a.dtype.hasobject for a in arrays.values()):
            raise TypeError("cache arrays must hold numbers, not Python objects")
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def cached_arrays(
    path: Path,
    *,
    build: Callable[[], T],
    dump: Callable[[T], Mapping[str, np.ndarray]],
    load: Callable[[dict[str, np.ndarray]], T],
) -> Cached[T]:
    """The value stored at ``path`` (an npz), or built, stored atomically and returned.

    ``load`` validates the arrays and raises (``CacheInvalid`` or any error) on a mismatch;
    then, and on any unreadable file (truncated, random bytes, a pickle), the value is
    rebuilt and the file replaced. Nothing in the file is ever executed.
    """
    note = None
    if path.exists():
        try:
            return Cached(load(_read(path)), hit=True)
        except Exception as exc:  # any damage or mismatch: distrust the file, rebuild it
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            note = f"cache file {path} was unusable ({reason}); rebuilt it"
            log.warning(note)
            with contextlib.suppress(OSError):
                path.unlink()
    value = build()
    try:
        _write(path, dump(value))
    except OSError as exc:  # a read-only or full disk costs speed, not the run
        log.warning("could not write cache file %s: %s", path, exc)
    return Cached(value, hit=False, note=note)
