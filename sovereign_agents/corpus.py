"""Load arXiv metadata JSON Lines into ``Paper`` records.

Two formats are read, detected per line:

* the Kaggle ``arxiv-metadata-oai-snapshot`` format (``abstract``, ``categories`` as a
  space-separated string, ``authors`` as a string, ``versions``);
* the daily-listing scraper format (``summary``, ``abs``, ``categories`` and ``authors`` lists).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sovereign_agents.errors import CorpusError
from sovereign_agents.escaping import safe_link
from sovereign_agents.schemas import Paper
from sovereign_agents.text import normalize_space

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
    records: int = 0
    skipped: int = 0
    first_error: str | None = None
    formats: dict[str, int] = field(default_factory=dict)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_record(record: dict[str, Any]) -> tuple[Paper, str]:
    """One JSON object of either format -> (Paper, format name). Raises ValueError."""
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
    paper = Paper(
        id=paper_id,
        version=version,
        title=normalize_space(title),
        abstract=normalize_space(abstract),
        authors=authors,
        categories=categories,
        url=safe_link(str(url), paper_id) or "",
        published=record.get("update_date"),
    )
    return paper, fmt


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str):
        return [v.strip() for v in re.split(r",|\s{2,}", value) if v.strip()]
    return []


def iter_records(lines: Iterable[str], report: LoadReport) -> Iterable[Paper]:
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            paper, fmt = parse_record(json.loads(line))
        except (ValueError, TypeError, RecursionError) as exc:  # JSONDecodeError: ValueError
            # RecursionError: a line nested deeper than the parser's stack (e.g. 100,000 "[")
            report.skipped += 1
            if report.first_error is None:
                why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                report.first_error = f"line {number}: {why[:200]}"
            continue
        if paper.id in seen:
            continue
        seen.add(paper.id)
        report.records += 1
        report.formats[fmt] = report.formats.get(fmt, 0) + 1
        yield paper


def corpus_file(path: str | Path) -> Path:
    """The corpus path as a file that exists; else ``CorpusError`` saying what it is."""
    file = Path(path).expanduser()
    if not file.exists():
        raise CorpusError(f"corpus file not found: {file}")
    if not file.is_file():
        raise CorpusError(f"corpus path is not a file: {file}")
    return file


def load_corpus(path: str | Path) -> tuple[list[Paper], LoadReport]:
    """Read a corpus file. Raises ``CorpusError`` with a clear message when it is unusable."""
    file = corpus_file(path)
    report = LoadReport(path=str(file), sha256=file_sha256(file))
    try:
        # utf-8-sig: a byte-order mark at the start is not part of the first record
        with file.open(encoding="utf-8-sig", errors="replace") as handle:
            papers = list(iter_records(handle, report))
    except OSError as exc:
        raise CorpusError(f"cannot read corpus file {file}: {exc.strerror or exc}") from exc
    if not papers:
        detail = f" ({report.first_error})" if report.first_error else " (the file is empty)"
        raise CorpusError(
            f"no arXiv records in {file}{detail}; expected JSON Lines in the Kaggle "
            "arxiv-metadata-oai-snapshot or daily-listing format"
        )
    return papers, report
