"""Exact top-k over the BM25 index's columns without reading every posting (MaxScore).

A query is a sequence of ``(column, factor)`` pairs in query order (repeats kept); a paper's
score is the float32 sum, in that order, of ``weight * factor`` over the pairs whose column
holds the paper (``exhaustive``: what ``BM25Index.scores`` and the RM3 scores have always
been). ``top`` returns the same rows and scores as ranking ``exhaustive`` by
``ranking.ranked_rows`` (best first, ties by row, positive only), reading only:

* the postings of the *essential* columns: the columns with the largest bounds
  (``max_weight * factor``), taken one at a time until the rest can no longer lift a paper
  that none of them holds into the top ``k``;
* for the candidates (the papers the essential columns hold), each other column's weight,
  found by binary search in its rows (ascending), not by reading the column.

Why it is exact (every weight and factor >= 0; float32 addition rounds monotonically):

* a paper none of the essential columns holds scores at most ``bound``, the float32 sum in
  query order of the other pairs' ``max_weight * factor`` (each addend at most its bound);
* a candidate scores at least its *partial* score, the float32 sum in query order of the
  essential pairs alone (adding a non-negative addend never lowers a rounded sum);
* so when ``bound`` is below the k-th best partial score, at least ``k`` candidates score
  strictly more than any paper outside them: the top ``k`` are candidates. Their exact
  scores are computed with the very operations of ``exhaustive`` (adding 0.0 where a column
  lacks the paper changes nothing), so scores, order and ties are the same bits.

When the essential columns' postings would exceed ``EXHAUSTIVE_SHARE`` of the papers, or
the binary searches for the candidates would outnumber the postings of a full pass (a rare
term held by many papers, as in a corpus of replicated records), scoring every paper is
cheaper and ``top`` does that.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from sovereign_agents.cache import CacheInvalid
from sovereign_agents.search.ranking import ranked_rows

Query = Sequence[tuple[int, float | np.float32]]  # (column, factor) pairs in query order
EXHAUSTIVE_SHARE = 0.25  # essential postings per paper beyond which every paper is scored


class Postings(Protocol):
    """The index arrays a query reads (``local.BM25Index``)."""

    indptr: np.ndarray
    rows: np.ndarray
    data: np.ndarray
    max_weight: np.ndarray


def column_max(indptr: np.ndarray, data: np.ndarray) -> np.ndarray:
    """Each column's bound for ``top``: its largest weight (0 for an empty column), float32."""
    out = np.zeros(len(indptr) - 1, dtype=np.float32)
    full = np.flatnonzero(np.diff(indptr) > 0)
    if len(full):
        out[full] = np.maximum.reduceat(data, indptr[full])
    return out


@dataclass(frozen=True)
class Ranked:
    """Rows best first (ties by row, positive scores only) and their float32 scores."""

    rows: np.ndarray
    scores: np.ndarray


def _segment(index: Postings, column: int, n_docs: int) -> tuple[np.ndarray, np.ndarray]:
    start, end = int(index.indptr[column]), int(index.indptr[column + 1])
    rows = index.rows[start:end]
    if len(rows) and (rows[0] < 0 or rows[-1] >= n_docs):
        raise CacheInvalid("the BM25 index has a row number out of range")
    return rows, index.data[start:end]


def _pairs(query: Query) -> list[tuple[int, np.float32]]:
    pairs = [(int(c), np.float32(f)) for c, f in query]
    if any(not f >= 0 for _, f in pairs):  # also refuses NaN
        raise ValueError("query factors must be >= 0")
    return pairs


def exhaustive(index: Postings, query: Query, n_docs: int) -> np.ndarray:
    """Every paper's score (float32, one per row), reading every posting of the query."""
    scores = np.zeros(n_docs, dtype=np.float32)
    for column, factor in _pairs(query):
        rows, data = _segment(index, column, n_docs)
        scores[rows] += data if factor == 1 else data * factor
    return scores


def scores_of(index: Postings, query: Query, rows: np.ndarray, n_docs: int) -> np.ndarray:
    """The scores of ``rows`` (ascending, distinct), bit-equal to ``exhaustive(...)[rows]``:
    each column's weights found by binary search, of the rows in the column or of the
    column's rows in ``rows``, whichever is shorter."""
    rows = np.asarray(rows, dtype=index.rows.dtype)
    scores = np.zeros(len(rows), dtype=np.float32)
    for column, factor in _pairs(query):
        held, data = _segment(index, column, n_docs)
        if not len(held) or not len(rows):
            continue
        if len(held) < len(rows):
            at = np.minimum(np.searchsorted(rows, held), len(rows) - 1)
            found = rows[at] == held
            weights = data[found] if factor == 1 else data[found] * factor
            scores[at[found]] += weights
        else:
            at = np.minimum(np.searchsorted(held, rows), len(held) - 1)
            found = held[at] == rows
            weights = data[at] if factor == 1 else data[at] * factor
            scores += np.where(found, weights, np.float32(0))
    return scores


def _sum_in_order(values: list[np.float32]) -> np.float32:
    total = np.float32(0)
    for value in values:
        total = np.float32(total + value)
    return total


def top(
    index: Postings,
    query: Query,
    k: int,
    n_docs: int,
    *,
    share: float = EXHAUSTIVE_SHARE,
) -> Ranked:
    """The top ``k`` of ``exhaustive(index, query, n_docs)`` by ``ranked_rows``, exactly.
    ``share``: essential postings per paper beyond which every paper is scored."""
    pairs = [(c, f) for c, f in _pairs(query) if f > 0]  # a zero factor adds exactly 0
    if k <= 0 or not pairs or not n_docs:
        return Ranked(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
    length = {c: int(index.indptr[c + 1] - index.indptr[c]) for c, _ in pairs}
    bound = {c: 0.0 for c in length}
    for c, f in pairs:
        bound[c] += float(np.float32(index.max_weight[c]) * f)
    # essential first: the largest bounds (rare terms: short columns, high weights)
    order = sorted(length, key=lambda c: (-bound[c], length[c], c))
    budget = share * n_docs
    exhaustive_cost = sum(length.values()) + n_docs / 2  # postings scattered, papers ranked
    essential: set[int] = set()
    read = 0
    for column in order:
        essential.add(column)
        read += length[column]
        if read > budget:
            break
        rest = [np.float32(index.max_weight[c]) * f for c, f in pairs if c not in essential]
        outside = _sum_in_order(rest)
        if outside == 0:  # no paper outside the candidates scores above 0
            return _ranked(index, pairs, _candidates(index, pairs, essential, n_docs), k, n_docs)
        candidates = _candidates(index, pairs, essential, n_docs)
        probes = len(candidates) * sum(
            math.log2(n + 1) for c, n in length.items() if c not in essential
        )
        if probes > exhaustive_cost:  # looking the candidates up costs more than a full pass
            break
        if len(candidates) < k:
            continue
        partial = scores_of(index, [(c, f) for c, f in pairs if c in essential], candidates, n_docs)
        kth = np.partition(partial, len(partial) - k)[len(partial) - k]
        if outside < kth:
            return _ranked(index, pairs, candidates, k, n_docs)
    scores = exhaustive(index, pairs, n_docs)
    rows = ranked_rows(scores, k)
    return Ranked(rows, scores[rows])


def _candidates(
    index: Postings, pairs: list[tuple[int, np.float32]], essential: set[int], n_docs: int
) -> np.ndarray:
    held = [_segment(index, c, n_docs)[0] for c in essential]
    if len(held) == 1:
        return np.asarray(held[0])  # a column's rows: ascending and distinct already
    rows = np.sort(np.concatenate(held))  # (np.unique hashes: many times slower here)
    return rows[np.r_[True, rows[1:] != rows[:-1]]]


def _ranked(
    index: Postings,
    pairs: list[tuple[int, np.float32]],
    candidates: np.ndarray,
    k: int,
    n_docs: int,
) -> Ranked:
    scores = scores_of(index, pairs, candidates, n_docs)
    best = ranked_rows(scores, k)  # candidates ascend, so ties by position are ties by row
    return Ranked(candidates[best].astype(np.int64), scores[best])
