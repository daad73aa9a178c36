"""Exact top-k over the BM25 index's columns without reading every posting (MaxScore).

A query is a sequence of ``(column, factor)`` pairs in query order (repeats kept); a paper's
score is the float32 sum, in that order, of ``weight * factor`` over the pairs whose column
holds the paper (``exhaustive``: what ``BM25Index.scores`` and the RM3 scores have always
been). ``top`` returns the same rows and scores as ranking ``exhaustive`` by
``ranking.ranked_rows`` (best first, ties by row, positive only), reading only:

* the postings of the *essential* columns: the columns with the largest bounds
  (``max_weight * factor``), taken one at a time until the rest can no longer lift a paper
  that none of them holds into the top ``k``; the papers they hold are the *candidates*;
* the exact scores of a few promising papers (the candidates with the best *partial*
  scores, the essential columns' share, and any ``seeds`` the caller knows to rank high):
  their k-th best is a *floor* under the k-th best score of all papers;
* for the candidates, the other columns one at a time (largest bound first), each weight
  found by binary search in the column's rows (ascending), not by reading the column; a
  candidate is dropped as soon as what it has plus the unread columns' bounds falls below
  the floor, so the long columns are looked up for a few papers only; after each column
  the floor rises to the k-th best exact score of the candidates with the most so far, and
  at the end to the survivors' own k-th best.

Why it is exact (every weight and factor >= 0; float32 addition rounds monotonically):

* a paper none of the essential columns holds scores at most ``bound``, the float32 sum in
  query order of the other pairs' ``max_weight * factor`` (each addend at most its bound);
* at least ``k`` papers score the floor or more (it is the k-th best of exact scores);
* so when ``bound`` is below the floor, no paper outside the candidates is in the top ``k``;
  nor is a dropped candidate, whose score is below the floor: its bound is the real sum of
  what it has and the unread bounds, widened for the float32 rounding of the additions it
  stands for (each at most 2**-24 relative) with room to spare. The survivors' exact
  scores are computed with the very operations of ``exhaustive`` (adding 0.0 where a column
  lacks the paper changes nothing), so scores, order and ties are the same bits.

When the essential columns' postings would exceed ``EXHAUSTIVE_SHARE`` of the papers, or
the lookups for the candidates would cost more than a full pass (``POSTING_STEPS``,
``PAPER_STEPS``), scoring every paper is cheaper and ``top`` does that. In a corpus of
replicated records a paper's best partial scores are often its own copies, whose whole
scores are low: the floor then comes from the seeds (the re-ranker seeds its RM3 pass with
BM25's best) or rises as the other columns are looked up, else the next essential column
is taken.
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
# a full pass in lookup steps (one step of a binary search), measured on 3M papers:
# scattering a posting costs about 7 steps, ranking a paper about 3
POSTING_STEPS = 7
PAPER_STEPS = 3
DENSE_SHARE = 32  # essential postings beyond papers / this are added into a dense array
PROMISING = 256  # candidates scored exactly to set the floor the others must reach
REFRESH = 2  # the floor is raised after this many of the other columns are looked up


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
    share: float | None = None,
    seeds: np.ndarray | None = None,
) -> Ranked:
    """The top ``k`` of ``exhaustive(index, query, n_docs)`` by ``ranked_rows``, exactly.
    ``share``: essential postings per paper beyond which every paper is scored
    (``EXHAUSTIVE_SHARE``). ``seeds``:
    rows likely to score high (another ranking's best), scored first to set the floor the
    others must reach; they change how much is read, never the answer."""
    pairs = [(c, f) for c, f in _pairs(query) if f > 0]  # a zero factor adds exactly 0
    if k <= 0 or not pairs or not n_docs:
        return Ranked(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
    length = {c: int(index.indptr[c + 1] - index.indptr[c]) for c, _ in pairs}
    bound = {c: 0.0 for c in length}
    for c, f in pairs:
        bound[c] += float(np.float32(index.max_weight[c]) * f)
    # essential first: the largest bounds (rare terms: short columns, high weights)
    order = sorted(length, key=lambda c: (-bound[c], length[c], c))
    budget = (EXHAUSTIVE_SHARE if share is None else share) * n_docs
    exhaustive_cost = POSTING_STEPS * sum(length.values()) + PAPER_STEPS * n_docs
    seeds = _in_range(seeds, n_docs)
    read = 0
    for i, column in enumerate(order):
        essential, later = set(order[: i + 1]), order[i + 1 :]
        read += length[column]
        if read > budget:
            break
        rest = [np.float32(index.max_weight[c]) * f for c, f in pairs if c not in essential]
        outside = _sum_in_order(rest)
        candidates, partial = _partial(index, pairs, essential, read, n_docs)
        if outside == 0:  # no paper outside the candidates scores above 0
            return _ranked(index, pairs, candidates, k, n_docs)
        if len(candidates) < k:
            continue
        floor = _kth_exact(index, pairs, candidates, partial, seeds, k, n_docs)
        # the floor rises as the candidates are looked up, so a candidate set whose first
        # floor does not yet exclude the papers outside it may still do so at the end
        found = _survivors(
            index, pairs, later, candidates, partial, floor, outside, exhaustive_cost, k, n_docs
        )
        if found is None:  # looking the candidates up costs more than a full pass
            if outside < floor:
                break
            continue
        survivors, floor = found
        if not len(survivors) and not outside < floor:  # gave up: take the next column
            continue
        scores = scores_of(index, pairs, survivors, n_docs)
        if len(survivors) >= k:
            floor = max(floor, np.partition(scores, len(scores) - k)[len(scores) - k])
        if outside < floor:
            best = ranked_rows(scores, k)  # survivors ascend: ties by position are by row
            return Ranked(survivors[best].astype(np.int64), scores[best])
    scores = exhaustive(index, pairs, n_docs)
    rows = ranked_rows(scores, k)
    return Ranked(rows, scores[rows])


def _kth_exact(
    index: Postings,
    pairs: list[tuple[int, np.float32]],
    candidates: np.ndarray,
    partial: np.ndarray,
    seeds: np.ndarray,
    k: int,
    n_docs: int,
) -> np.float32:
    """A floor under the k-th best score of all papers: the k-th best exact score among the
    ``PROMISING`` candidates (at least ``k``) with the best partial scores and the seeds.
    Exact scores count whole queries, so the floor sits far above the k-th best partial
    score and prunes far more. (In a corpus of copies the best partial scores may all be
    one paper's copies, whose whole score is low: seeds from another ranking fix that.)"""
    m = min(len(candidates), max(PROMISING, 4 * k))
    best = np.argpartition(partial, len(partial) - m)[len(partial) - m :]
    rows = np.union1d(candidates[best], seeds)
    exact = scores_of(index, pairs, rows, n_docs)
    return np.partition(exact, len(rows) - k)[len(rows) - k]


_NO_SEEDS = np.zeros(0, dtype=np.int64)


def _in_range(seeds: np.ndarray | None, n_docs: int) -> np.ndarray:
    if seeds is None:
        return _NO_SEEDS
    seeds = np.asarray(seeds, dtype=np.int64)
    return seeds[(seeds >= 0) & (seeds < n_docs)]


def _survivors(
    index: Postings,
    pairs: list[tuple[int, np.float32]],
    later: list[int],
    candidates: np.ndarray,
    partial: np.ndarray,
    floor: np.float32,
    outside: np.float32,
    budget: float,
    k: int,
    n_docs: int,
) -> tuple[np.ndarray, np.float32] | None:
    """The candidates that can still reach the floor (under the k-th best score), and the
    floor at the end: each later column, largest bound first, is looked up for the
    candidates left, and a candidate goes as soon as what it has plus every column still
    unread at its bound falls below the floor. After each column the floor rises to the k-th
    best exact score of the ``PROMISING`` candidates left with the most so far (in a corpus
    of copies the first floor may be one paper's copies; one column later the best
    candidates are the ones holding more of the query; raised after the first ``REFRESH``
    columns only, where it pays). Gives up, with no survivors, when the floor is still not
    above ``outside`` (the bound of the papers none of the candidates is) after the first
    column: the caller then takes one more essential column. ``None`` when the lookups would
    exceed ``budget`` (a full pass's cost).

    The sums here are float64 and in another order than the exact scores: each bound is
    widened by the rounding of the float32 additions it stands for (each at most 2**-24
    relative, on non-negative addends), with room to spare, so no paper that can reach the
    floor is dropped."""
    widen = 1 + 4 * (len(pairs) + 1) * 2.0**-24
    factor = dict.fromkeys(later, 0.0)
    for c, f in pairs:
        if c in factor:
            factor[c] += float(f)
    bounds = [float(np.float32(index.max_weight[c])) * factor[c] for c in later]
    remaining = math.fsum(bounds)
    rows, have = candidates, partial.astype(np.float64)
    keep = (have + remaining) * widen >= floor
    rows, have = rows[keep], have[keep]
    probes = 0.0
    for j, column in enumerate(later):
        probes += len(rows) * math.log2(int(index.indptr[column + 1] - index.indptr[column]) + 1)
        if probes > budget:
            return None
        remaining = math.fsum(bounds[j + 1 :])
        weights = scores_of(index, [(column, np.float32(1))], rows, n_docs)
        have = have + weights.astype(np.float64) * factor[column]
        if j < REFRESH and len(rows) > 4 * max(PROMISING, 4 * k) and remaining > 0:
            floor = max(floor, _kth_exact(index, pairs, rows, have, _NO_SEEDS, k, n_docs))
        if j == 0 and remaining > 0 and not outside < floor:
            return rows[:0], floor
        keep = (have + remaining) * widen >= floor
        rows, have = rows[keep], have[keep]
    return rows, floor


def _partial(
    index: Postings,
    pairs: list[tuple[int, np.float32]],
    essential: set[int],
    read: int,
    n_docs: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The candidates (ascending rows the essential columns hold) and each one's partial
    score (float64, the essential columns' weights times their factors, summed in no
    particular order: ``_survivors`` widens its bounds for that). Few postings are merged
    by sorting; many are added into one array over every paper, which is cheaper then."""
    factor = dict.fromkeys(essential, 0.0)
    for c, f in pairs:
        if c in factor:
            factor[c] += float(f)
    held = {c: _segment(index, c, n_docs) for c in essential}
    if len(held) == 1:
        ((column, (rows, data)),) = held.items()
        return np.asarray(rows), data.astype(np.float64) * factor[column]
    if read * DENSE_SHARE < n_docs:
        rows = np.sort(np.concatenate([r for r, _ in held.values()]))  # (np.unique hashes)
        rows = rows[np.r_[True, rows[1:] != rows[:-1]]]
        partial = np.zeros(len(rows))
        for column, (at, data) in held.items():
            partial[np.searchsorted(rows, at)] += data.astype(np.float64) * factor[column]
        return rows, partial
    every = np.zeros(n_docs)
    for column, (at, data) in held.items():
        every[at] += data.astype(np.float64) * factor[column]  # a column's rows are distinct
    rows = np.flatnonzero(every)  # a paper with a partial score of 0 is no candidate
    return rows, every[rows]


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
