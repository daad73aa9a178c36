"""The on-disk cache folder, and caches that carry no code and heal themselves.

Where caches go (the one home of the rule, ``cache_location``), first match wins:

1. ``Context.cache_dir`` set to a value other than its default (``$SOVEREIGN_CACHE_DIR``);
2. the ``sovereign`` command line's ``--cache-dir`` when given (set by the CLI process only,
   ``use_cli_cache_dir``: an explicit flag wins over the environment);
3. ``$SOVEREIGN_CACHE_DIR``;
4. the CLI's default, the platform's user cache folder (``~/.cache/sovereign-agents`` on
   Linux);
5. otherwise (the Python API with nothing set) a temporary folder of this process, removed
   when it exits: a library never writes under the user's home unless told to.

The folder in use is logged once (logger ``sovereign_agents.cache``, INFO).

Cache files live in a predictable place, so they are treated as untrusted input: arrays are
stored in ``.npz`` files read with ``allow_pickle=False`` (plain numbers and UTF-8 JSON bytes,
never a pickle), every load is validated (format version, the key it was built for, shapes,
dtypes, finite values) and any mismatch or damage means the file is rebuilt, with a warning that
names it. The caller gets that warning back as a note, so a run can list it in its Uncertainties.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    import numpy as np

T = TypeVar("T")
log = logging.getLogger(__name__)

CACHE_ENV = "SOVEREIGN_CACHE_DIR"
APP_NAME = "sovereign-agents"

_lock = threading.Lock()
_cli_default: Path | None = None  # set by the ``sovereign`` CLI process only
_cli_explicit = False  # the CLI's folder was given as --cache-dir (not its default)
_temporary: tempfile.TemporaryDirectory[str] | None = None  # the library's last resort
_announced: set[Path] = set()


def platform_cache_dir() -> Path:
    """The user cache folder of this platform for sovereign-agents: ``$XDG_CACHE_HOME`` or
    ``~/.cache`` on Linux, ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / APP_NAME
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        base = Path(local) if local else Path.home() / "AppData" / "Local"
        return base / APP_NAME / "Cache"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache") / APP_NAME


def use_cli_cache_dir(path: str | Path | None, *, explicit: bool = False) -> None:
    """Called by the ``sovereign`` CLI (its own process): its default folder, used when
    neither ``Context.cache_dir`` nor ``$SOVEREIGN_CACHE_DIR`` is set; or (``explicit``) the
    folder given as ``--cache-dir``, which also wins over ``$SOVEREIGN_CACHE_DIR``."""
    global _cli_default, _cli_explicit
    with _lock:
        _cli_default = Path(path).expanduser() if path is not None else None
        _cli_explicit = explicit and path is not None


def _temporary_dir() -> Path:
    global _temporary
    with _lock:
        if _temporary is None:
            # removed when the interpreter exits (TemporaryDirectory's finalizer)
            _temporary = tempfile.TemporaryDirectory(prefix=f"{APP_NAME}-cache-")
        return Path(_temporary.name)


def cache_location(configured: str | Path | None = None) -> tuple[Path, str]:
    """Where caches go and why (see the module docstring), without creating anything."""
    env = os.environ.get(CACHE_ENV)
    # Context.cache_dir defaults to the environment's value: only a different value was set
    chosen = configured is not None and str(configured) != "" and str(configured) != env
    if _cli_explicit and _cli_default is not None and not chosen:
        return _cli_default, "the sovereign CLI's --cache-dir"
    if configured:
        return Path(configured).expanduser(), "Context.cache_dir"
    if env:
        return Path(env).expanduser(), f"${CACHE_ENV}"
    if _cli_default is not None:
        return _cli_default, "the sovereign CLI's --cache-dir"
    return _temporary_dir(), (
        "a temporary folder removed when this process exits; set Context.cache_dir or "
        f"${CACHE_ENV} to keep caches between processes"
    )


def cache_dir(configured: str | Path | None = None) -> Path:
    """The cache folder (created if missing), logged the first time it is used."""
    path, why = cache_location(configured)
    path.mkdir(parents=True, exist_ok=True)
    with _lock:
        first = path not in _announced
        _announced.add(path)
    if first:
        log.info("caches go to %s (%s)", path, why)
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
    import numpy as np

    return np.frombuffer(json.dumps(value, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)


def from_json_bytes(array: np.ndarray) -> Any:
    import numpy as np

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
    import numpy as np

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
    import numpy as np

    with np.load(path, allow_pickle=False) as archive:
        if not hasattr(archive, "files"):
            raise CacheInvalid("not an npz archive")
        return {name: archive[name] for name in archive.files}


def _write(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    import numpy as np

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


def _trusted(path: Path, load: Callable[[], T]) -> tuple[Cached[T] | None, str | None]:
    """The cached value if ``path`` holds a good one; else (None, a note when the file was
    there but damaged or mismatched: it is deleted, to be rebuilt)."""
    if not path.exists():
        return None, None
    try:
        return Cached(load(), hit=True), None
    except Exception as exc:  # any damage or mismatch: distrust the file, rebuild it
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        note = f"cache file {path} was unusable ({reason}); rebuilt it"
        log.warning(note)
        with contextlib.suppress(OSError):
            path.unlink()
        return None, note


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
    hit, note = _trusted(path, lambda: load(_read(path)))
    if hit is not None:
        return hit
    value = build()
    try:
        _write(path, dump(value))
    except OSError as exc:  # a read-only or full disk costs speed, not the run
        log.warning("could not write cache file %s: %s", path, exc)
    return Cached(value, hit=False, note=note)


def cached_file(
    path: Path,
    *,
    build: Callable[[Path], Any],
    load: Callable[[Path], T],
) -> Cached[T]:
    """The value in the file at ``path`` (``load`` opens it, e.g. memory-mapped), or the
    file built (``build`` writes it) and then opened. The file is written under a temporary
    name and renamed into place, so a reader never sees half of it.

    ``load`` validates and raises on a mismatch; then, and on any unreadable file, the file is
    rebuilt and replaced, with a note saying so (as ``cached_arrays``). A cache folder that
    cannot be written costs a private temporary copy, not the run.
    """
    hit, note = _trusted(path, lambda: load(path))
    if hit is not None:
        return hit
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
    except OSError as exc:  # a read-only cache folder: build in a private temporary one
        log.warning("could not write cache file %s: %s", path, exc)
        folder = Path(tempfile.mkdtemp(prefix="sovereign-index-"))
        private = folder / path.name
        build(private)
        value = load(private)
        with contextlib.suppress(OSError):
            private.unlink()  # the open mapping keeps the data until the process ends
            folder.rmdir()
        return Cached(value, hit=False, note=note)
    try:
        build(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return Cached(load(path), hit=False, note=note)
