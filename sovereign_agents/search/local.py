"""Local corpus search: vectorised BM25 over arXiv metadata, its index a memory-mapped file.

The index is one sparse matrix of BM25 term weights (documents x terms), stored by column
(term): a query's scores are the sum of its terms' columns, no Python loop over documents.
It is built once per corpus file, streaming (``index_build``: never the whole corpus in
memory), into one file under the cache folder keyed by the file's sha256, the format and
the analyzer's version (``text.ANALYZER_VERSION``). A later run (or process) opens that file
memory-mapped (``index_file``): it reads the pages its queries touch, not the whole index.
The papers are not copied: the index keeps the byte offset of each kept record's line and
reads the line back from the corpus file (``corpus.CorpusRows``). A damaged or mismatched
index file is rebuilt and the run says so.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sovereign_agents.cache import CacheInvalid, cache_dir, cached_file, expect_meta
from sovereign_agents.corpus import (
    CorpusRows,
    LoadReport,
    corpus_file,
    file_sha256,
    split_arxiv_id,
)
from sovereign_agents.errors import ConfigError
from sovereign_agents.schemas import Paper, Uncertainty
from sovereign_agents.search import topk
from sovereign_agents.search.index_build import build_index_file, indexed_terms
from sovereign_agents.search.index_file import SortedStrings, open_array_file
from sovereign_agents.text import ANALYZER_VERSION, analyze
from sovereign_agents.wording import count

if TYPE_CHECKING:
    import scipy.sparse as sp

    from sovereign_agents.context import Context

INDEX_VERSION = 6  # 6: + each term's max weight; 5: one memory-mapped file; 4: npz; 3: pickle
FULL_CHECK = 1 << 24  # postings up to which opening checks every weight and row number


def index_file_name(sha256: str) -> str:
    """The cache file of a corpus's index: keyed by the index format, the analyzer that made
    its terms and the corpus file's content."""
    return f"bm25-v{INDEX_VERSION}-a{ANALYZER_VERSION}-{sha256[:24]}.idx"


def _as_is(terms: list[str]) -> list[str]:
    return terms


@dataclass
class BM25Index:
    """BM25 weights by column (term): ``indptr`` (terms + 1), ``rows`` and ``data`` (one per
    posting, rows ascending within a column), ``max_weight`` (each column's largest weight,
    the bound that lets ``top`` skip most postings: ``topk``). ``papers[row]``, ``ids[paper id] -> row``
    (merged ids too), ``vocabulary[term] -> column``: plain containers when built in memory,
    views over the memory-mapped file when opened from disk."""

    papers: Sequence[Paper]
    ids: Mapping[str, int]
    vocabulary: Mapping[str, int]
    indptr: np.ndarray
    rows: np.ndarray
    data: np.ndarray
    max_weight: np.ndarray
    sha256: str
    source: str
    load_report: LoadReport
    build_seconds: float

    @classmethod
    def build(
        cls,
        papers: list[Paper],
        *,
        sha256: str,
        source: str,
        report: LoadReport,
        k1: float = 1.2,
        b: float = 0.75,
        tokens: list[list[str]] | None = None,
    ) -> BM25Index:
        """Index ``papers`` in memory; ``tokens`` (``indexed_terms`` of each paper) skips the
        analysis. ``index_build`` streams a file into the same weights, to the bit."""
        import scipy.sparse as sp
        from sklearn.feature_extraction.text import CountVectorizer

        started = time.perf_counter()
        if tokens is None:
            vectorizer = CountVectorizer(analyzer=indexed_terms, dtype=np.float32)
            tf = vectorizer.fit_transform(papers)
        else:
            if len(tokens) != len(papers):
                raise ValueError("tokens must hold one list per paper")
            vectorizer = CountVectorizer(analyzer=_as_is, dtype=np.float32)
            tf = vectorizer.fit_transform(tokens)
        tf = sp.csr_matrix(tf, dtype=np.float32)
        n_docs = tf.shape[0]
        doc_len = np.asarray(tf.sum(axis=1)).ravel()
        avg_len = float(doc_len.mean()) or 1.0
        df = np.bincount(tf.indices, minlength=tf.shape[1]).astype(np.float32)
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        # BM25 saturation, computed on the non-zeros only
        norm = k1 * (1 - b + b * doc_len / avg_len)
        rows = np.repeat(np.arange(n_docs), np.diff(tf.indptr))
        data = tf.data * (k1 + 1) / (tf.data + norm[rows]) * idf[tf.indices]
        weights = sp.csr_matrix((data, tf.indices, tf.indptr), shape=tf.shape).tocsc()
        weights.sort_indices()
        indptr = np.asarray(weights.indptr, dtype=np.int64)
        data = np.asarray(weights.data, dtype=np.float32)
        return cls(
            papers=papers,
            ids={p.id: i for i, p in enumerate(papers)},
            vocabulary={str(k): int(v) for k, v in vectorizer.vocabulary_.items()},
            indptr=indptr,
            rows=np.asarray(weights.indices, dtype=np.int32),
            data=data,
            max_weight=topk.column_max(indptr, data),
            sha256=sha256,
            source=source,
            load_report=report,
            build_seconds=time.perf_counter() - started,
        )

    @classmethod
    def open(cls, path: Path, *, sha256: str, corpus: Path) -> BM25Index:
        """The index in the file at ``path``, memory-mapped, its papers read from ``corpus``;
        ``CacheInvalid`` unless it is whole and exactly an index of that corpus (sha256) in
        this format. Weights and row numbers are all checked up to ``FULL_CHECK`` postings;
        past that only the structure (reading every posting would page the whole index in)."""
        meta, arrays = open_array_file(path)
        expect_meta(meta, kind="bm25", version=INDEX_VERSION, sha256=sha256)
        report = meta.get("load_report")
        if not isinstance(report, dict) or set(report) != {f.name for f in fields(LoadReport)}:
            raise CacheInvalid("load_report does not match LoadReport")
        names = {f"{k}_{s}" for k in ("term", "id") for s in ("bytes", "starts")}
        want = names | {"indptr", "rows", "data", "max_weight"}
        want |= {"doc_offsets", "doc_lengths", "id_rows"}
        if set(arrays) != want:
            raise CacheInvalid(f"arrays {sorted(arrays)}, expected {sorted(want)}")
        vocabulary = SortedStrings(arrays["term_bytes"], arrays["term_starts"], None)
        ids = SortedStrings(arrays["id_bytes"], arrays["id_starts"], arrays["id_rows"])
        offsets, lengths = arrays["doc_offsets"], arrays["doc_lengths"]
        indptr, rows, data = arrays["indptr"], arrays["rows"], arrays["data"]
        max_weight = arrays["max_weight"]
        n_docs = len(offsets)
        if not n_docs or len(lengths) != n_docs or len(ids) < n_docs:
            raise CacheInvalid("no papers, or fewer ids than papers")
        if (
            len(indptr) != len(vocabulary) + 1
            or indptr[0] != 0
            or indptr[-1] != len(data)
            or len(rows) != len(data)
            or (np.diff(indptr) < 0).any()
            or len(max_weight) != len(vocabulary)
            or not np.isfinite(max_weight).all()
        ):
            raise CacheInvalid("the weight matrix is inconsistent (column pointers)")
        id_rows = arrays["id_rows"]
        if id_rows.min() < 0 or id_rows.max() >= n_docs:
            raise CacheInvalid("an id points past the papers")
        if (
            lengths.min() <= 0
            or offsets.min() < 0
            or int((offsets + lengths).max()) > corpus.stat().st_size
        ):
            raise CacheInvalid("a paper's line lies outside the corpus file")
        if (
            len(data) <= FULL_CHECK
            and len(data)
            and (
                not np.isfinite(data).all()
                or (data < 0).any()
                or rows.min() < 0
                or rows.max() >= n_docs
                or not np.array_equal(max_weight, topk.column_max(indptr, data))
            )
        ):
            raise CacheInvalid("the weight matrix is inconsistent (rows or weights)")
        return cls(
            papers=CorpusRows(corpus, offsets, lengths),
            ids=ids,
            vocabulary=vocabulary,
            indptr=indptr,
            rows=rows,
            data=data,
            max_weight=max_weight,
            sha256=sha256,
            source=str(meta.get("source", "")),
            load_report=LoadReport(**report),
            build_seconds=float(meta.get("build_seconds", 0.0)),
        )

    @cached_property
    def weights(self) -> sp.csc_matrix:
        """The weights as a scipy matrix (documents x terms) over the same arrays."""
        import scipy.sparse as sp

        shape = (len(self.papers), len(self.indptr) - 1)
        return sp.csc_matrix((self.data, self.rows, self.indptr), shape=shape, copy=False)

    def columns(self, query: str) -> list[int]:
        """The query's terms that are in the index, as columns (repeats kept)."""
        found = (self.vocabulary.get(t) for t in analyze(query))
        return [column for column in found if column is not None]

    def pairs(self, query: str) -> list[tuple[int, float]]:
        """The query as ``topk`` reads it: each of its terms' columns, factor 1."""
        return [(column, 1.0) for column in self.columns(query)]

    def scores(self, query: str) -> np.ndarray:
        """Every paper's BM25 score for ``query`` (float32, one per row): the sum of the
        query terms' columns, added in query order (as scipy's column sum does). Reads every
        posting of the query; ``top_rows`` reads few."""
        return topk.exhaustive(self, self.pairs(query), len(self.papers))

    def top_rows(
        self, query: Sequence[tuple[int, float]], k: int, seeds: np.ndarray | None = None
    ) -> topk.Ranked:
        """The ``k`` best rows for ``query`` (``(column, factor)`` pairs) and their scores:
        exactly ``ranked_rows`` over every paper's score, most postings unread (``topk``;
        ``seeds``: rows likely to rank high, which only make it read less)."""
        return topk.top(self, query, k, len(self.papers), seeds=seeds)

    def top(self, query: str, k: int) -> list[tuple[Paper, float]]:
        best = self.top_rows(self.pairs(query), k)
        return [
            (self.papers[int(r)], float(s)) for r, s in zip(best.rows, best.scores, strict=True)
        ]

    def sample(self, limit: int) -> list[Paper]:
        """All papers when there are at most ``limit``, else ``limit`` spread evenly over
        the rows (the same ones every time)."""
        n = len(self.papers)
        if n <= limit:
            return list(self.papers)
        return [self.papers[int(i)] for i in np.linspace(0, n - 1, limit).round().astype(int)]


_MEMO: dict[tuple[str, int, int], BM25Index] = {}
_MEMO_LOCK = threading.Lock()
_NOTES: dict[str, str] = {}  # index sha256 -> a damaged cache file replaced while opening it


def open_index(path: str | Path, cache: str | None = None) -> tuple[BM25Index, bool]:
    """The BM25 index of a corpus file: from this process, the disk cache, or built.

    Returns ``(index, warm)`` where ``warm`` says it was not built now. A damaged or
    mismatched cache file is rebuilt; ``take_cache_note(index.sha256)`` then says so.
    """
    file = corpus_file(path).resolve()  # a CorpusError for a missing file or a folder
    stat = file.stat()
    key = (str(file), stat.st_mtime_ns, stat.st_size)
    with _MEMO_LOCK:
        if key in _MEMO:
            return _MEMO[key], True
        sha = corpus_sha256(file, cache)
        cache_file = index_cache_path(sha, cache)

        def build(target: Path) -> None:
            meta = {"kind": "bm25", "version": INDEX_VERSION, "source": str(file)}
            build_index_file(file, target, sha256=sha, meta=meta)

        cached = cached_file(
            cache_file, build=build, load=lambda at: BM25Index.open(at, sha256=sha, corpus=file)
        )
        if cached.note:
            _NOTES[sha] = cached.note
        _MEMO[key] = cached.value
        return cached.value, cached.hit


def corpus_sha256(file: Path, cache: str | None = None) -> str:
    """The sha256 of a corpus file, hashed once per version of the file: remembered in the
    cache folder with the file's size, modification time and inode, and trusted while those
    stay the same (hashing the 4.5 GB arXiv snapshot takes ~10 s; a warm run must not)."""
    stat = file.stat()
    seen = {
        "path": str(file),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "inode": stat.st_ino,
    }
    name = hashlib.blake2b(str(file).encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
    memo = cache_dir(cache) / "corpus-sha" / f"{name}.json"
    with contextlib.suppress(OSError, ValueError):
        known = json.loads(memo.read_text())
        if isinstance(known, dict) and {k: known.get(k) for k in seen} == seen:
            sha = known.get("sha256")
            if isinstance(sha, str) and len(sha) == 64:
                return sha
    sha = file_sha256(file)
    with contextlib.suppress(OSError):
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_name(f".{memo.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({**seen, "sha256": sha}))
        os.replace(tmp, memo)
    return sha


def index_cache_path(sha256: str, cache: str | None = None) -> Path:
    """Where the BM25 index of the corpus with this sha256 is cached."""
    return cache_dir(cache) / index_file_name(sha256)


def take_cache_note(sha256: str) -> str | None:
    """The note about a damaged index cache file replaced for this corpus, once."""
    with _MEMO_LOCK:
        return _NOTES.pop(sha256, None)


def clear_memo() -> None:
    """Forget the indexes held in this process (the disk cache stays)."""
    with _MEMO_LOCK:
        _MEMO.clear()


@dataclass(frozen=True)
class LocalConfig:
    """The local corpus source's config group: which file, and where its index is cached."""

    path: str
    cache_dir: str | None = None  # the BM25 index cache folder (None: cache.cache_location)

    @classmethod
    def from_context(cls, context: Context) -> LocalConfig:
        if not context.search.corpus:
            raise ConfigError("local search needs a corpus file (--corpus PATH)")
        return cls(path=context.search.corpus, cache_dir=context.cache_dir)


class LocalCorpusSearch:
    """``SearchBackend`` over a local arXiv metadata file, ranked by the re-ranker
    (``rerank.py``: BM25 and RM3 candidates, fitted boosted trees); ``rerank=False`` ranks
    by plain BM25."""

    name = "local"

    def __init__(self, path: str | Path, cache: str | None = None, *, rerank: bool = True) -> None:
        self.index, self.warm = open_index(path, cache)
        self.rerank = rerank

    @classmethod
    def from_config(cls, config: LocalConfig) -> LocalCorpusSearch:
        return cls(config.path, config.cache_dir)

    def search(self, query: str, k: int) -> list[tuple[Paper, float]]:
        """The ``k`` best papers, best first: with the re-ranker, each with its probability
        of relevance; with plain BM25, its BM25 score."""
        if not self.rerank:
            return self.index.top(query, k)
        from sovereign_agents.search.rerank import rerank

        return rerank(self.index, query, k)

    def get(self, paper_id: str) -> Paper | None:
        base, _ = split_arxiv_id(paper_id)
        position = self.index.ids.get(base)
        return None if position is None else self.index.papers[position]

    def notes(self) -> list[Uncertainty]:
        """What a run should know about the corpus: lines skipped as unreadable, and a
        damaged index cache file that was rebuilt (reported once)."""
        notes = []
        loaded = self.index.load_report
        if loaded.skipped:
            notes.append(
                Uncertainty(
                    kind="coverage",
                    node="search",
                    message=f"{loaded.skipped} line(s) of the corpus {Path(loaded.path).name} "
                    f"were skipped as unreadable (first: {loaded.first_error}).",
                )
            )
        healed = take_cache_note(self.index.sha256)
        if healed:
            notes.append(Uncertainty(kind="fallback", node="search", message=healed))
        return notes

    def describe(self) -> str:
        name = Path(self.index.source).name
        skipped = self.index.load_report.skipped
        lines = f", {skipped} unreadable lines skipped" if skipped else ""
        return (
            f"local arXiv corpus {name} ({count(len(self.index.papers), 'record')}{lines}, "
            f"sha256 {self.index.sha256[:12]}), {self.ranking()}"
        )

    def ranking(self) -> str:
        if not self.rerank:
            return "BM25 relevance ranking"
        from sovereign_agents.search.rerank import describe

        return describe()
