"""A run folder's lifecycle: one writer at a time, when a run counts as finished, a fresh start.

* ``writer_lock`` -- an exclusive ``flock`` on ``DIR/.lock`` for as long as a run, resume or
  fork writes into the folder. A second writer gets one clear error at once. The lock belongs
  to the open file, so the kernel drops it when the process dies, even by SIGKILL: a stale lock
  file never blocks anyone.
* ``is_finished`` -- a run is finished exactly when ``report.json`` and ``report.md`` exist
  (they are written last, atomically); anything short of that can be resumed.
* ``start_fresh`` -- a new run into a folder replaces a finished run that was there (its
  files, nothing else), and refuses to destroy an unfinished one unless forced.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from sovereign_agents.errors import InputError

LOCK = ".lock"
REPORTS = ("report.json", "report.md")
RUN_FILES = (
    "run.json",
    "trace.jsonl",
    "checkpoints.sqlite",
    "checkpoints.sqlite-journal",
    "checkpoints.sqlite-wal",
    "checkpoints.sqlite-shm",
    "report.html",
    *REPORTS,
)


class FolderBusy(InputError):
    """Another process is writing into the run folder."""


@contextlib.contextmanager
def writer_lock(run_dir: Path) -> Iterator[None]:
    """Hold the folder's writer lock, or fail at once naming the process that holds it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise FolderBusy(
                f"another sovereign process (pid {holder}) is writing to {run_dir}; wait for "
                "it to finish or use another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the file releases the lock


def is_finished(run_dir: Path) -> bool:
    return all((run_dir / name).is_file() for name in REPORTS)


def clear_report(run_dir: Path) -> None:
    """Remove the report before a run continues: until it is rewritten the run is unfinished."""
    for name in REPORTS:
        (run_dir / name).unlink(missing_ok=True)


def start_fresh(run_dir: Path, *, force: bool = False) -> bool:
    """Empty ``run_dir`` of a previous run's files (others are left alone); True if there
    was one. An unfinished previous run (resumable) is only replaced with ``force``."""
    if not (run_dir / "run.json").exists():
        held = [n for n in RUN_FILES if (run_dir / n).exists()]
        if not held:
            return False
    elif not is_finished(run_dir) and not force:
        raise InputError(
            f"{run_dir} holds an unfinished run: continue it with `sovereign resume "
            f"{run_dir}`, start over with --force, or choose another --out"
        )
    for name in RUN_FILES:
        (run_dir / name).unlink(missing_ok=True)
    for tmp in run_dir.glob("*.tmp"):
        tmp.unlink(missing_ok=True)
    return True


def repair_trace(path: Path) -> None:
    """Cut a line a kill left half-written at the end of ``trace.jsonl``, so lines appended
    by a resumed run stay one JSON record each."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    with path.open("rb+") as trace:
        trace.seek(-1, os.SEEK_END)
        if trace.read(1) == b"\n":
            return
        trace.seek(0)
        content = trace.read()
        trace.truncate(content.rfind(b"\n") + 1)
