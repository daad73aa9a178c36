"""Local corpus search: vectorised BM25 over arXiv metadata, index cached on disk.

The index is one sparse matrix of BM25 term weights (documents x terms). A query's scores
are the sum of the columns of its terms: one sparse slice and a sum, no Python loop over
documents. The index is built once per corpus file and cached under the cache folder,
keyed by the file's sha256 and the analyzer's version (``text.ANALYZER_VERSION``), so a
second run (or process) loads it instead of rebuilding. The cache is an npz of plain arrays
(no pickle), validated on load and rebuilt when damaged.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import TypeAdapter

from sovereign_agents.cache import (
    CacheInvalid,
    cache_dir,
    cached_arrays,
    expect_array,
    expect_meta,
    from_json_bytes,
    json_bytes,
)
from sovereign_agents.corpus import (
    LoadReport,
    corpus_file,
    file_sha256,
    load_corpus,
    split_arxiv_id,
)
from sovereign_agents.errors import ConfigError
from sovereign_agents.schemas import Paper, Uncertainty
from sovereign_agents.text import ANALYZER_VERSION, analyze
from sovereign_agents.wording import count

if TYPE_CHECKING:
    import scipy.sparse as sp

    from sovereign_agents.context import Context

INDEX_VERSION = 4  # 4: npz (plain arrays + JSON), was a pickle
_PAPER_LIST = TypeAdapter(list[Paper])


def index_file_name(sha256: str) -> str:
    """The cache file of a corpus's index: keyed by the index format, the analyzer that made
    its terms and the corpus file's content."""
    return f"bm25-v{INDEX_VERSION}-a{ANALYZER_VERSION}-{sha256[:24]}.npz"


def indexed_terms(paper: Paper) -> list[str]:
    """The terms a paper is indexed under; the title counts twice, as the densest statement
    of what a paper is about."""
    return analyze(f"{paper.title}. {paper.title}. {paper.abstract}")


def _as_is(terms: list[str]) -> list[str]:
    return terms


@dataclass
class BM25Index:
    papers: list[Paper]
    ids: dict[str, int]
    vocabulary: dict[str, int]
    weights: sp.csc_matrix  # documents x terms, BM25 weight of each term in each document
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
        """Index ``papers``; ``tokens`` (``indexed_terms`` of each paper) skips the analysis."""
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
        return cls(
            papers=papers,
            ids={p.id: i for i, p in enumerate(papers)},
            vocabulary={str(k): int(v) for k, v in vectorizer.vocabulary_.items()},
            weights=weights,
            sha256=sha256,
            source=source,
            load_report=report,
            build_seconds=time.perf_counter() - started,
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The index as plain arrays (see ``from_arrays``): nothing that can run code."""
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        meta = {
            "kind": "bm25",
            "version": INDEX_VERSION,
            "sha256": self.sha256,
            "source": self.source,
            "build_seconds": self.build_seconds,
            "load_report": asdict(self.load_report),
        }
        return {
            "meta": json_bytes(meta),
            "papers": json_bytes([p.model_dump(mode="json") for p in self.papers]),
            "terms": json_bytes(terms),
            "data": np.asarray(self.weights.data, dtype=np.float32),
            "indices": np.asarray(self.weights.indices, dtype=np.int64),
            "indptr": np.asarray(self.weights.indptr, dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], *, sha256: str) -> BM25Index:
        """An index from ``to_arrays`` output, every part checked; ``CacheInvalid`` if not
        exactly an index of the corpus with this sha256 in this format version."""
        import scipy.sparse as sp

        meta = expect_meta(
            from_json_bytes(arrays["meta"]), kind="bm25", version=INDEX_VERSION, sha256=sha256
        )
        papers = _PAPER_LIST.validate_json(
            expect_array(arrays, "papers", kind="u", shape=(None,)).tobytes()
        )
        terms = from_json_bytes(arrays["terms"])
        if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
            raise CacheInvalid("terms is not a list of strings")
        ids = {p.id: i for i, p in enumerate(papers)}
        vocabulary = {t: i for i, t in enumerate(terms)}
        if not papers or len(ids) != len(papers) or len(vocabulary) != len(terms):
            raise CacheInvalid("no papers, or duplicate paper ids or terms")
        data = expect_array(arrays, "data", kind="f", shape=(None,), finite=True)
        indices = expect_array(arrays, "indices", kind="i", shape=data.shape)
        indptr = expect_array(arrays, "indptr", kind="i", shape=(len(terms) + 1,))
        if (
            indptr[0] != 0
            or indptr[-1] != len(data)
            or (np.diff(indptr) < 0).any()
            or (len(indices) and (indices.min() < 0 or indices.max() >= len(papers)))
            or (data < 0).any()
        ):
            raise CacheInvalid("the weight matrix is inconsistent (pointers, rows or weights)")
        report = meta.get("load_report")
        names = {f.name for f in fields(LoadReport)}
        if not isinstance(report, dict) or set(report) != names:
            raise CacheInvalid("load_report does not match LoadReport")
        weights = sp.csc_matrix(
            (data.astype(np.float32), indices, indptr), shape=(len(papers), len(terms))
        )
        return cls(
            papers=papers,
            ids=ids,
            vocabulary=vocabulary,
            weights=weights,
            sha256=sha256,
            source=str(meta.get("source", "")),
            load_report=LoadReport(**report),
            build_seconds=float(meta.get("build_seconds", 0.0)),
        )

    def scores(self, query: str) -> np.ndarray:
        columns = [self.vocabulary[t] for t in analyze(query) if t in self.vocabulary]
        if not columns:
            return np.zeros(len(self.papers), dtype=np.float32)
        return np.asarray(self.weights[:, columns].sum(axis=1)).ravel()

    def top(self, query: str, k: int) -> list[tuple[Paper, float]]:
        scores = self.scores(query)
        k = min(k, len(scores))
        if k <= 0:
            return []
        candidates = np.argpartition(-scores, k - 1)[:k]
        order = candidates[np.lexsort((candidates, -scores[candidates]))]
        return [(self.papers[i], float(scores[i])) for i in order if scores[i] > 0]


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
        sha = file_sha256(file)
        cache_file = index_cache_path(sha, cache)

        def build() -> BM25Index:
            papers, report = load_corpus(file)
            return BM25Index.build(papers, sha256=sha, source=str(file), report=report)

        cached = cached_arrays(
            cache_file,
            build=build,
            dump=BM25Index.to_arrays,
            load=lambda arrays: BM25Index.from_arrays(arrays, sha256=sha),
        )
        if cached.note:
            _NOTES[sha] = cached.note
        _MEMO[key] = cached.value
        return cached.value, cached.hit


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
