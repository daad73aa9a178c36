"""Local corpus search: vectorised BM25 over arXiv metadata, index cached on disk.

The index is one sparse matrix of BM25 term weights (documents x terms). A query's scores
are the sum of the columns of its terms: one sparse slice and a sum, no Python loop over
documents. The index is built once per corpus file and cached under the cache folder,
keyed by the file's sha256, so a second run (or process) loads it instead of rebuilding.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from sovereign_agents.cache import cache_dir, cached_pickle
from sovereign_agents.corpus import LoadReport, file_sha256, load_corpus, split_arxiv_id
from sovereign_agents.schemas import Paper
from sovereign_agents.text import analyze
from sovereign_agents.wording import count

INDEX_VERSION = 3


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


def open_index(path: str | Path, cache: str | None = None) -> tuple[BM25Index, bool]:
    """The BM25 index of a corpus file: from this process, the disk cache, or built.

    Returns ``(index, warm)`` where ``warm`` says it was not built now.
    """
    file = Path(path).expanduser().resolve()
    try:
        stat = file.stat()
    except OSError:
        # let the loader produce its clear message
        load_corpus(file)
        raise
    key = (str(file), stat.st_mtime_ns, stat.st_size)
    with _MEMO_LOCK:
        if key in _MEMO:
            return _MEMO[key], True
        sha = file_sha256(file)
        cache_file = cache_dir(cache) / f"bm25-v{INDEX_VERSION}-{sha[:24]}.pkl"

        def build() -> BM25Index:
            papers, report = load_corpus(file)
            return BM25Index.build(papers, sha256=sha, source=str(file), report=report)

        index, hit = cached_pickle(cache_file, build)
        _MEMO[key] = index
        return index, hit


def clear_memo() -> None:
    """Forget the indexes held in this process (the disk cache stays)."""
    with _MEMO_LOCK:
        _MEMO.clear()


class LocalCorpusSearch:
    """``SearchBackend`` over a local arXiv metadata file."""

    name = "local"

    def __init__(self, path: str | Path, cache: str | None = None) -> None:
        self.index, self.warm = open_index(path, cache)

    def search(self, query: str, k: int) -> list[tuple[Paper, float]]:
        return self.index.top(query, k)

    def get(self, paper_id: str) -> Paper | None:
        base, _ = split_arxiv_id(paper_id)
        position = self.index.ids.get(base)
        return None if position is None else self.index.papers[position]

    def describe(self) -> str:
        name = Path(self.index.source).name
        return (
            f"local arXiv corpus {name} ({count(len(self.index.papers), 'record')}, "
            f"sha256 {self.index.sha256[:12]}), BM25 relevance ranking"
        )
