"""Load arXiv metadata JSON Lines into ``Paper`` records.

Two formats are read, detected per line:

* the Kaggle ``arxiv-metadata-oai-snapshot`` format (``abstract``, ``categories`` as a
  space-separated string, ``authors`` as a string, ``versions``);
* the daily-listing scraper format (``summary``, ``abs``, ``categories`` and ``authors`` lists).

Files are read as a stream (``read_lines`` -> ``read_entries``), one record in memory at a
time, each line's byte offset kept so the record can be read back alone (``CorpusRows``, the
index's document store). Records of one work are merged (``Merger``): versions of an arXiv id,
and the same title and abstract under another id. ``load_corpus`` holds a whole (small) file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, overload

from sovereign_agents.errors import CorpusError
from sovereign_agents.escaping import safe_link
from sovereign_agents.schemas import Paper
from sovereign_agents.text import normalize_space

if TYPE_CHECKING:
    import numpy as np

_VERSION_RE = re.compile(r"^(?P<id>.+?)v(?P<version>\d+)$")
_ARXIV_URL_RE = re.compile(r"arxiv\.org/(?:abs|pdf)/(?P<id>[^\s?#]+?)(?:\.pdf)?$")


def split_arxiv_id(raw: str) -> tuple[str, int | None]:
    """``'2506.01234v2'`` -> ``('2506.01234', 2)``; also accepts arXiv abs/pdf URLs."""
    raw = raw.strip()
    url = _ARXIV_URL_RE.search(raw)
    if url:
        raw = url.group("id")
    match = _VERSION_RE.match(raw)
    if match and (match.group("id")[-1].isdigit()):
        return match.group("id"), int(match.group("version"))
    return raw, None


@dataclass
class LoadReport:
    path: str
    sha256: str
    records: int = 0  # distinct works kept
    skipped: int = 0  # unreadable lines
    first_error: str | None = None
    formats: dict[str, int] = field(default_factory=dict)  # works kept, by the format read first
    merged: int = 0  # records folded into a work kept: other versions, the same work re-listed


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_record(record: dict[str, Any], *, text_only: bool = False) -> tuple[Paper, str]:
    """One JSON object of either format -> (Paper, format name). Raises ValueError.

    ``text_only``: for an index, which reads the id, version, title and abstract alone: no
    link is made (``safe_link`` cannot fail, so the same records are readable)."""
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    raw_id = record.get("id")
    title = record.get("title")
    if not isinstance(raw_id, str) or not raw_id.strip():
        raise ValueError("missing 'id'")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("missing 'title'")
    paper_id, version = split_arxiv_id(raw_id)
    if "summary" in record:
        fmt = "daily"
        abstract = record.get("summary") or ""
        authors = _as_list(record.get("authors"))
        categories = _as_list(record.get("categories"))
        url = record.get("abs") or ""
    elif "abstract" in record:
        fmt = "kaggle"
        abstract = record.get("abstract") or ""
        authors = [a.strip() for a in str(record.get("authors") or "").split(",") if a.strip()]
        categories = str(record.get("categories") or "").split()
        versions = record.get("versions") or []
        if version is None and isinstance(versions, list) and versions:
            last = versions[-1]
            label = str(last.get("version", "")) if isinstance(last, dict) else ""
            if label[1:].isdigit():
                version = int(label[1:])
        url = ""
    else:
        raise ValueError("neither 'abstract' (Kaggle) nor 'summary' (daily listing)")
    if not isinstance(abstract, str) or not abstract.strip():
        raise ValueError("empty abstract")
    link = str(url)
    paper = Paper(
        id=paper_id,
        version=version,
        title=normalize_space(title),
        abstract=normalize_space(abstract),
        authors=authors,
        categories=categories,
        url="" if text_only else safe_link(link, paper_id) or "",
        published=record.get("update_date"),
    )
    return paper, fmt


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str):
        return [v.strip() for v in re.split(r",|\s{2,}", value) if v.strip()]
    return []


def content_key(paper: Paper) -> int:
    """What makes two records the same work under different ids: the same title and
    abstract once case, punctuation and spacing are ignored (64-bit hash of their words,
    ``\\w+``, lower-cased, joined by single spaces)."""
    text = f"{paper.title}\n{paper.abstract}".lower()
    if text.isascii():  # the same words, split in C: every byte not in \w made a space
        words = b" ".join(text.encode("ascii").translate(_ASCII_WORDS).split())
    else:
        words = _NOT_WORD.sub(" ", text).strip().encode("utf-8")
    return int.from_bytes(hashlib.blake2b(words, digest_size=8).digest(), "big")


_NOT_WORD = re.compile(r"\W+")
# a byte translation: each ASCII byte of ``\w`` (letter, digit, underscore) kept, any other a space
_ASCII_WORDS = bytes(
    c if chr(c).isascii() and (chr(c).isalnum() or c == 95) else 32 for c in range(256)
)


@dataclass(frozen=True)
class Entry:
    """A record kept while streaming: the paper, where its line lies in the file (bytes),
    and the earlier entry (by position in the stream of entries) it supersedes, if any."""

    paper: Paper
    offset: int
    length: int
    replaces: int | None = None


class Merger:
    """Which record stands for a work, decided one record at a time (streaming).

    * the same arXiv id (versions stripped: ``2501.00001v1`` and ``v2`` are one work): the
      highest version wins; at an equal or unknown version the record read first stays;
    * another id with the same title and abstract (``content_key``): the same work listed
      again, merged into the id read first, which the other id then also finds (``aliases``).
    """

    def __init__(self) -> None:
        self.slots: dict[str, int] = {}  # kept id -> its entry's position
        self.versions: list[int] = []  # entry position -> version (0: unknown)
        self.works: dict[int, str] = {}  # content key -> kept id
        self.aliases: dict[str, str] = {}  # merged id -> the kept id it is the same work as

    def admit(self, paper: Paper) -> tuple[bool, int | None]:
        """(keep this record, the entry it replaces); a kept record is the next entry."""
        return self.admit_id(paper.id, paper.version, lambda: content_key(paper))

    def admit_id(
        self, paper_id: str, version: int | None, key: int | Callable[[], int]
    ) -> tuple[bool, int | None]:
        """``admit`` from a record's id, version and ``content_key`` (or a function that
        computes it, called only for an id not seen before)."""
        version = version or 0
        slot = self.slots.get(paper_id)
        if slot is not None:
            if version <= self.versions[slot]:
                return False, None
            self.slots[paper_id] = len(self.versions)
            self.versions.append(version)
            return True, slot
        if paper_id in self.aliases:
            return False, None
        work = key() if callable(key) else key
        same = self.works.get(work)
        if same is not None:
            self.aliases[paper_id] = same
            return False, None
        self.works[work] = paper_id
        self.slots[paper_id] = len(self.versions)
        self.versions.append(version)
        return True, None


Line = tuple[int, int, int, str]  # (byte offset, byte length, line number, text)


def read_lines(handle: BinaryIO) -> Iterator[Line]:
    """The lines of a binary file as text mode would split them (``\n``, ``\r\n``, ``\r``)
    and decode them (UTF-8, bad bytes replaced, a byte-order mark at the start dropped), with
    where each lies in the file, so one line can be read back alone."""
    offset = 0
    number = 0
    for raw in handle:
        parts = raw.splitlines(keepends=True) if b"\r" in raw else [raw]
        for part in parts:
            number += 1
            text = part.decode("utf-8", errors="replace")
            if offset == 0 and text.startswith("\ufeff"):
                text = text[1:]
            yield offset, len(part), number, text
            offset += len(part)


def parse_line(line: str, *, text_only: bool = False) -> tuple[Paper, str] | str:
    """One line -> (Paper, format), or why it is unreadable (``parse_record``)."""
    try:
        return parse_record(json.loads(line), text_only=text_only)
    except (ValueError, TypeError, RecursionError) as exc:  # JSONDecodeError: ValueError
        # RecursionError: a line nested deeper than the parser's stack (e.g. 100,000 "[")
        return "nested too deeply" if isinstance(exc, RecursionError) else str(exc)


def count_skipped(report: LoadReport, number: int, why: str) -> None:
    report.skipped += 1
    if report.first_error is None:
        report.first_error = f"line {number}: {why[:200]}"


def count_admitted(report: LoadReport, fmt: str, keep: bool, replaces: int | None) -> None:
    if not keep or replaces is not None:
        report.merged += 1
    elif keep:
        report.records += 1
        report.formats[fmt] = report.formats.get(fmt, 0) + 1


def read_entries(
    lines: Iterable[Line], report: LoadReport, merger: Merger | None = None
) -> Iterator[Entry]:
    """Parse and merge records one line at a time; ``report`` counts as it goes."""
    merger = merger or Merger()
    for offset, length, number, line in lines:
        if not line.strip():
            continue
        parsed = parse_line(line)
        if isinstance(parsed, str):
            count_skipped(report, number, parsed)
            continue
        paper, fmt = parsed
        keep, replaces = merger.admit(paper)
        count_admitted(report, fmt, keep, replaces)
        if keep:
            yield Entry(paper, offset, length, replaces)


def iter_records(lines: Iterable[str], report: LoadReport) -> Iterator[Paper]:
    """The works in ``lines`` (merged as ``Merger`` says), in the order their kept records
    were read. Holds them all: for small inputs; large files go through ``read_entries``."""
    numbered = ((0, 0, number, line) for number, line in enumerate(lines, start=1))
    kept: list[Paper | None] = []
    for entry in read_entries(numbered, report):
        if entry.replaces is not None:
            kept[entry.replaces] = None
        kept.append(entry.paper)
    yield from (paper for paper in kept if paper is not None)


def no_records(file: Path, report: LoadReport) -> CorpusError:
    detail = f" ({report.first_error})" if report.first_error else " (the file is empty)"
    return CorpusError(
        f"no arXiv records in {file}{detail}; expected JSON Lines in the Kaggle "
        "arxiv-metadata-oai-snapshot or daily-listing format"
    )


def corpus_file(path: str | Path) -> Path:
    """The corpus path as a file that exists; else ``CorpusError`` saying what it is."""
    file = Path(path).expanduser()
    if not file.exists():
        raise CorpusError(f"corpus file not found: {file}")
    if not file.is_file():
        raise CorpusError(f"corpus path is not a file: {file}")
    return file


def load_corpus(path: str | Path) -> tuple[list[Paper], LoadReport]:
    """Read a whole corpus file into memory (small files; the index streams large ones).
    Raises ``CorpusError`` with a clear message when it is unusable."""
    file = corpus_file(path)
    report = LoadReport(path=str(file), sha256=file_sha256(file))
    try:
        with file.open("rb") as handle:
            papers = list(iter_records((line for *_, line in read_lines(handle)), report))
    except OSError as exc:
        raise CorpusError(f"cannot read corpus file {file}: {exc.strerror or exc}") from exc
    if not papers:
        raise no_records(file, report)
    return papers, report


class CorpusRows(Sequence[Paper]):
    """The document store: papers read back from the corpus file itself, one line each, at
    the byte offsets the index kept (memory-mapped arrays); nothing held in memory."""

    CACHED = 4096  # papers kept parsed, the most recently read (a run reads its hits again)

    def __init__(self, file: Path, offsets: np.ndarray, lengths: np.ndarray) -> None:
        self.file = file
        self.offsets = offsets
        self.lengths = lengths
        self._fd = os.open(file, os.O_RDONLY)
        self._recent: dict[int, Paper] = {}
        self._lock = threading.Lock()  # searches run in threads

    def forget(self) -> None:
        """Drop the papers kept parsed (a benchmark's cold reads)."""
        self._recent = {}

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            os.close(self._fd)

    def __len__(self) -> int:
        return len(self.offsets)

    @overload
    def __getitem__(self, row: int) -> Paper: ...
    @overload
    def __getitem__(self, row: slice) -> list[Paper]: ...
    def __getitem__(self, row: int | slice) -> Paper | list[Paper]:
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        row = range(len(self))[row]  # an IndexError past the end, negatives from the end
        with self._lock:
            paper = self._recent.get(row)
        if paper is None:
            paper = self._read(row)
            with self._lock:
                if len(self._recent) >= self.CACHED:
                    self._recent.pop(next(iter(self._recent)), None)
                self._recent[row] = paper
        return paper

    def _read(self, row: int) -> Paper:
        offset = int(self.offsets[row])
        raw = os.pread(self._fd, int(self.lengths[row]), offset)
        text = raw.decode("utf-8", errors="replace")
        if offset == 0:
            text = text.removeprefix("\ufeff")
        try:
            return parse_record(json.loads(text))[0]
        except (ValueError, TypeError, RecursionError) as exc:
            raise CorpusError(
                f"corpus file {self.file} changed since it was indexed (row {row}: {exc}); "
                "its index is rebuilt on the next open"
            ) from exc
