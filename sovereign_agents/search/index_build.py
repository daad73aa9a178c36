"""Build the BM25 index file of a corpus in one streaming pass, in bounded memory.

1. Stream the corpus in batches of lines, parsed and analysed by worker processes for a large
   file (``analyse``), merged in file order here (``corpus.Merger``: versions and re-listed
   works). Each kept record's term counts go to three spill files on disk (row, term, count);
   in memory stay the vocabulary (term -> provisional id), the merge tables and a few numbers
   per record (byte offset and length of its line, length in terms, alive). The analysis
   is most of a build's CPU time: a worker analyses each distinct token once (``_TermIds``,
   looked up in C) and counts a batch's (record, term) pairs in arrays.
2. Document frequencies over the records still alive, the vocabulary sorted (the column
   order ``CountVectorizer`` gives), idf and each document's length norm: the exact float32
   arithmetic of ``BM25Index.build``, so scores are bit-for-bit those of the in-RAM index.
3. Transpose to columns (terms) in buckets of at most ``BUCKET`` postings: each bucket
   re-reads the spill files and scatters its postings, rows ascending within a column, into
   a buffer written to its place in the index file.

Peak memory: the vocabulary and merge tables (~200 bytes per record and per term), one spill
chunk, one bucket (``BUCKET`` x 8 bytes); not the corpus.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from array import array
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass
from itertools import chain
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from sovereign_agents.corpus import (
    Line,
    LoadReport,
    Merger,
    content_key,
    count_admitted,
    count_skipped,
    no_records,
    parse_line,
    read_lines,
)
from sovereign_agents.schemas import Paper
from sovereign_agents.search.index_file import ArrayFileWriter, SortedStrings
from sovereign_agents.search.topk import column_max
from sovereign_agents.text import terms_of, token_terms, tokens

CHUNK = 1 << 22  # postings per read-back chunk of the spill files
LINES_PER_BATCH = 2000  # lines parsed and analysed per batch (per task of a worker)
PARALLEL_FROM = 64 << 20  # corpus bytes from which worker processes analyse it
MEMO_SIZE = 1 << 18  # distinct tokens a worker's memo (``_TermIds``) holds before it starts over
BUCKET = 48 << 20  # postings per transposition bucket (48M x 8 bytes = 384 MiB of buffers)
_SPILLS = (("rows", "i"), ("terms", "i"), ("counts", "f"))
_DTYPES = {"rows": np.int32, "terms": np.int32, "counts": np.float32}


class _Spill:
    """Postings (row, provisional term, count) appended to three files, read back in chunks."""

    def __init__(self, folder: Path) -> None:
        self.paths = {name: folder / f"{name}.bin" for name, _ in _SPILLS}
        self.handles = {name: self.paths[name].open("wb") for name, _ in _SPILLS}
        self.total = 0

    def add(self, rows: np.ndarray, terms: np.ndarray, counts: np.ndarray) -> None:
        for name, values in (("rows", rows), ("terms", terms), ("counts", counts)):
            np.ascontiguousarray(values, dtype=_DTYPES[name]).tofile(self.handles[name])
        self.total += len(rows)

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()

    def chunks(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        handles = {name: self.paths[name].open("rb") for name, _ in _SPILLS}
        try:
            for _ in range(0, self.total, CHUNK):
                rows, terms, counts = (
                    np.fromfile(handles[n], dtype=_DTYPES[n], count=CHUNK) for n, _ in _SPILLS
                )
                yield rows, terms, counts
        finally:
            for handle in handles.values():
                handle.close()


@dataclass
class _Analysed:
    """One batch of lines, parsed and analysed (in a worker process for a large file)."""

    docs: list[tuple[int, int, str, int | None, int, str]]  # offset, length, id, version, key, fmt
    bad: list[tuple[int, str]]  # (line number, why) of each unreadable line
    terms: list[str]  # the batch's own vocabulary
    nnz: np.ndarray  # distinct terms per record
    local: np.ndarray  # each record's terms as indexes into ``terms``, record after record
    counts: np.ndarray  # how often each occurs in its record
    lengths: np.ndarray  # each record's length in terms (its counts summed)


def indexed_tokens(title: str, abstract: str) -> list[str]:
    """The words a paper is indexed under: the title twice, as the densest statement of what
    a paper is about, then the abstract. They are the ``tokens`` of
    ``f"{title}. {title}. {abstract}"`` (no token runs over ". "), the title tokenised once."""
    head = tokens(title)
    return head + head + tokens(abstract)


def indexed_terms(paper: Paper) -> list[str]:
    """The terms a paper is indexed under: ``analyze`` of its ``indexed_tokens``."""
    return terms_of(indexed_tokens(paper.title, paper.abstract))


class _TermIds(dict[str, tuple[int, ...]]):
    """A worker's memo: token -> the ids of its terms (``token_terms``) in ``names``, the
    worker's vocabulary. Each token is analysed once; ``bounded`` empties it all between
    batches once it holds ``MEMO_SIZE`` tokens."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self.ids: dict[str, int] = {}

    def __missing__(self, token: str) -> tuple[int, ...]:
        ids = self[token] = tuple(self._id(term) for term in token_terms(token))
        return ids

    def _id(self, term: str) -> int:
        known = self.ids.get(term)
        if known is None:
            known = self.ids[term] = len(self.names)
            self.names.append(term)
        return known

    def bounded(self) -> _TermIds:
        if len(self) >= MEMO_SIZE:
            self.clear()
            self.names.clear()
            self.ids.clear()
        return self


_MEMO = _TermIds()  # a worker process's, kept from batch to batch


def analyse(lines: list[Line], memo: _TermIds | None = None) -> _Analysed:
    """Parse a batch of lines and count each record's index terms (``indexed_terms``);
    ``memo``: the build's own, in-process (default: the worker process's)."""
    docs: list[tuple[int, int, str, int | None, int, str]] = []
    bad: list[tuple[int, str]] = []
    words: list[str] = []  # the records' indexed tokens, record after record
    per_doc: list[int] = []
    for offset, length, number, line in lines:
        if not line.strip():
            continue
        parsed = parse_line(line, text_only=True)
        if isinstance(parsed, str):
            bad.append((number, parsed))
            continue
        paper, fmt = parsed
        before = len(words)
        words += indexed_tokens(paper.title, paper.abstract)
        per_doc.append(len(words) - before)
        docs.append((offset, length, paper.id, paper.version, content_key(paper), fmt))
    return _counted((memo or _MEMO).bounded(), docs, bad, words, per_doc)


def _counted(
    memo: _TermIds,
    docs: list[tuple[int, int, str, int | None, int, str]],
    bad: list[tuple[int, str]],
    words: list[str],
    per_doc: list[int],
) -> _Analysed:
    """Each record's terms counted, in arrays: the tokens through ``memo`` (C lookups), then
    (record, term) pairs counted by one sort. A record's terms come in the order of their
    ids, not of their first occurrence: the index is built from the counts alone."""
    ids = list(map(memo.__getitem__, words))
    sizes = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    term = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(sizes.sum()))
    doc = np.repeat(np.repeat(np.arange(len(docs), dtype=np.int64), per_doc), sizes)
    width = max(len(memo.names), 1)
    pairs, counts = np.unique(doc * width + term, return_counts=True)
    doc, term = np.divmod(pairs, width)
    used, local = np.unique(term, return_inverse=True)
    return _Analysed(
        docs=docs,
        bad=bad,
        terms=[memo.names[i] for i in used.tolist()],
        nnz=np.bincount(doc, minlength=len(docs)),
        local=local.astype(np.int32),
        counts=counts.astype(np.int32),
        lengths=np.bincount(doc, weights=counts, minlength=len(docs)).astype(np.int64),
    )


def _batches(lines: Iterator[Line]) -> Iterator[list[Line]]:
    batch: list[Line] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= LINES_PER_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def workers_for(file: Path) -> int:
    """Worker processes for analysing ``file``: none below ``PARALLEL_FROM`` bytes (starting
    them costs more), else one per CPU this process may use (at most 4)."""
    if file.stat().st_size < PARALLEL_FROM:
        return 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(cpus or 1, 4) if (cpus or 1) > 1 else 0


def analysed(file: Path) -> Iterator[_Analysed]:
    """The file's batches analysed, in file order: here, or by worker processes (spawned,
    never forked from a host's threads), at most two batches each in flight."""
    workers = workers_for(file)
    with file.open("rb") as handle:
        batches = _batches(read_lines(handle))
        if not workers:  # a memo of this build's alone, not kept in the host's process
            memo = _TermIds()
            yield from (analyse(batch, memo) for batch in batches)
            return
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            pending: deque[Future[_Analysed]] = deque()
            for batch in batches:
                pending.append(pool.submit(analyse, batch))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()


class _Vocabulary(dict[str, int]):
    """Term -> provisional id, in the order terms are first seen (``vocabulary[term]``)."""

    def __missing__(self, term: str) -> int:
        known = self[term] = len(self)
        return known


def build_index_file(
    file: Path,
    target: Path,
    *,
    sha256: str,
    meta: dict[str, Any],
    k1: float = 1.2,
    b: float = 0.75,
) -> LoadReport:
    """Stream ``file`` and write its index to ``target``; ``CorpusError`` if it holds no
    record. ``meta`` goes into the file's header beside the load report."""
    started = time.perf_counter()
    report = LoadReport(path=str(file), sha256=sha256)
    merger = Merger()
    vocabulary = _Vocabulary()
    offsets, lengths, doc_len = array("q"), array("q"), array("q")
    alive = bytearray()
    folder = Path(tempfile.mkdtemp(dir=target.parent, prefix=".bm25-build-"))
    try:
        spill = _Spill(folder)
        try:
            for batch in analysed(file):
                for number, why in batch.bad:
                    count_skipped(report, number, why)
                ids = np.fromiter(
                    map(vocabulary.__getitem__, batch.terms), dtype=np.int32, count=len(batch.terms)
                )
                kept = np.zeros(len(batch.docs), dtype=bool)
                slots: list[int] = []
                for i, (offset, length, pid, version, key, fmt) in enumerate(batch.docs):
                    keep, replaces = merger.admit_id(pid, version, key)
                    count_admitted(report, fmt, keep, replaces)
                    if not keep:
                        continue
                    if replaces is not None:
                        alive[replaces] = 0
                    kept[i] = True
                    slots.append(len(offsets))
                    offsets.append(offset)
                    lengths.append(length)
                    doc_len.append(int(batch.lengths[i]))
                    alive.append(1)
                postings = np.repeat(kept, batch.nnz)
                spill.add(
                    np.repeat(np.asarray(slots, dtype=np.int32), batch.nnz[kept]),
                    ids[batch.local[postings]],
                    batch.counts[postings],
                )
        finally:
            spill.close()
        if not report.records:
            raise no_records(file, report)
        _write(target, spill, report, merger, vocabulary, offsets, lengths, doc_len, alive,
               sha256=sha256, meta=meta, k1=k1, b=b, started=started)  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return report


def _write(
    target: Path,
    spill: _Spill,
    report: LoadReport,
    merger: Merger,
    vocabulary: dict[str, int],
    offsets: array[int],
    lengths: array[int],
    doc_len: array[int],
    alive: bytearray,
    *,
    sha256: str,
    meta: dict[str, Any],
    k1: float,
    b: float,
    started: float,
) -> None:
    live = np.frombuffer(bytes(alive), dtype=np.uint8).astype(bool)
    new_row = np.cumsum(live, dtype=np.int64) - 1
    n_docs = int(live.sum())
    df_by_id = np.zeros(len(vocabulary), dtype=np.int64)
    for rows, terms, _ in spill.chunks():
        df_by_id += np.bincount(terms[live[rows]], minlength=len(vocabulary))
    names = list(vocabulary)
    del vocabulary
    # the columns: terms of live documents, sorted (as CountVectorizer orders its vocabulary)
    order = np.asarray(
        sorted(np.flatnonzero(df_by_id).tolist(), key=names.__getitem__), dtype=np.int64
    )
    column_of = np.full(len(names), -1, dtype=np.int64)
    column_of[order] = np.arange(len(order))
    term_bytes, term_starts, _ = SortedStrings.arrays([(names[i], 0) for i in order.tolist()])
    del names
    # the arithmetic of BM25Index.build, to the bit
    tf_len = np.asarray(doc_len, dtype=np.float32)[live]
    avg_len = float(tf_len.mean()) or 1.0
    df = df_by_id[order].astype(np.float32)
    idf = np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
    norm = k1 * (1 - b + b * tf_len / avg_len)
    indptr = np.zeros(len(order) + 1, dtype=np.int64)
    np.cumsum(df_by_id[order], out=indptr[1:])
    nnz = int(indptr[-1])

    id_items = [(pid, int(new_row[slot])) for pid, slot in merger.slots.items()]
    id_items += [
        (alias, int(new_row[merger.slots[kept]])) for alias, kept in merger.aliases.items()
    ]
    id_bytes, id_starts, id_rows = SortedStrings.arrays(id_items)
    del id_items
    header = {**meta, "sha256": sha256, "load_report": asdict(report), "build_seconds": 0.0}
    sizes = {
        "term_bytes": ("|u1", len(term_bytes)),
        "term_starts": ("<i8", len(term_starts)),
        "indptr": ("<i8", len(indptr)),
        "rows": ("<i4", nnz),
        "data": ("<f4", nnz),
        "max_weight": ("<f4", len(order)),  # each column's largest weight (pruned top-k)
        "doc_offsets": ("<i8", n_docs),
        "doc_lengths": ("<i8", n_docs),
        "id_bytes": ("|u1", len(id_bytes)),
        "id_starts": ("<i8", len(id_starts)),
        "id_rows": ("<i8", len(id_rows)),
    }
    with target.open("wb") as handle:
        writer = ArrayFileWriter(handle, header, sizes)
        for name, values in (
            ("term_bytes", term_bytes),
            ("term_starts", term_starts),
            ("indptr", indptr),
            ("doc_offsets", np.asarray(offsets, dtype=np.int64)[live]),
            ("doc_lengths", np.asarray(lengths, dtype=np.int64)[live]),
            ("id_bytes", id_bytes),
            ("id_starts", id_starts),
            ("id_rows", id_rows),
        ):
            writer.write(name, values)
        for lo, hi in _buckets(indptr):
            rows_out, data_out = _bucket(
                spill, live, new_row, column_of, norm, idf, indptr, lo, hi, k1
            )
            writer.write("rows", rows_out, at=int(indptr[lo]))
            writer.write("data", data_out, at=int(indptr[lo]))
            bounds = column_max(indptr[lo : hi + 1] - indptr[lo], data_out)
            writer.write("max_weight", bounds, at=lo)
        writer.update_meta(build_seconds=round(time.perf_counter() - started, 3))


def _buckets(indptr: np.ndarray) -> Iterator[tuple[int, int]]:
    """Column ranges holding at most ``BUCKET`` postings each (or one column that holds more)."""
    lo, n_terms = 0, len(indptr) - 1
    while lo < n_terms:
        hi = int(np.searchsorted(indptr, indptr[lo] + BUCKET, side="right")) - 1
        hi = min(max(hi, lo + 1), n_terms)
        yield lo, hi
        lo = hi


def _bucket(
    spill: _Spill,
    live: np.ndarray,
    new_row: np.ndarray,
    column_of: np.ndarray,
    norm: np.ndarray,
    idf: np.ndarray,
    indptr: np.ndarray,
    lo: int,
    hi: int,
    k1: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The postings of columns [lo, hi): rows ascending in each column, and BM25 weights."""
    base = int(indptr[lo])
    size = int(indptr[hi]) - base
    rows_out = np.empty(size, dtype=np.int32)
    data_out = np.empty(size, dtype=np.float32)
    cursor = indptr[lo:hi] - base
    for rows, terms, counts in spill.chunks():
        columns = column_of[terms]
        keep = live[rows] & (columns >= lo) & (columns < hi)
        if not keep.any():
            continue
        columns, tf = columns[keep], counts[keep]
        doc = new_row[rows[keep]]
        weight = tf * (k1 + 1) / (tf + norm[doc]) * idf[columns]
        order = np.argsort(columns, kind="stable")  # keeps rows ascending within a column
        columns, doc, weight = columns[order], doc[order], weight[order]
        unique, first, count = np.unique(columns, return_index=True, return_counts=True)
        place = cursor[columns - lo] + (np.arange(len(columns)) - np.repeat(first, count))
        rows_out[place] = doc
        data_out[place] = weight
        cursor[unique - lo] += count
    return rows_out, data_out
