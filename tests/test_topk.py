"""Pruned top-k (``search/topk``) against the exhaustive scorer: the same rows, order, ties
and float32 scores, on random corpora and queries (hypothesis) and on the real indexes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sovereign_agents.bench.scale import generate
from sovereign_agents.bench.search import FIXED_QUERIES
from sovereign_agents.cache import CacheInvalid
from sovereign_agents.search import local, topk
from sovereign_agents.search.local import open_index
from sovereign_agents.search.ranking import ranked_rows
from sovereign_agents.search.rerank import _weighted, load_params, rm3_query
from sovereign_agents.search.topk import column_max
from sovereign_agents.search.topk import exhaustive as _exhaustive
from sovereign_agents.text import analyze


@dataclass
class Columns:
    indptr: np.ndarray
    rows: np.ndarray
    data: np.ndarray
    max_weight: np.ndarray


# few distinct weights and factors: many equal scores, so ties (at the cut too) are common
WEIGHTS = st.sampled_from([1.0, 1.0, 2.0, 0.5, 0.7, 7.25])
FACTORS = st.sampled_from([1.0, 1.0, 1.0, 1.0, 0.5, 0.0, 0.123])


@st.composite
def corpora(draw: st.DrawFn) -> tuple[Columns, int]:
    n_docs = draw(st.integers(1, draw(st.sampled_from([6, 6, 60]))))
    n_terms = draw(st.integers(1, draw(st.sampled_from([3, 8]))))
    indptr, rows, data = [0], [], []
    for _ in range(n_terms):
        held = sorted(draw(st.sets(st.integers(0, n_docs - 1), max_size=n_docs)))
        rows += held
        data += [draw(WEIGHTS) for _ in held]
        indptr.append(len(rows))
    ip = np.array(indptr, dtype=np.int64)
    values = np.array(data, dtype=np.float32)
    return Columns(ip, np.array(rows, dtype=np.int32), values, column_max(ip, values)), n_docs


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    corpus=corpora(),
    picks=st.one_of(
        st.lists(st.tuples(st.integers(0, 7), FACTORS), max_size=3),
        st.lists(st.tuples(st.integers(0, 7), FACTORS), max_size=10),
    ),
    k=st.one_of(st.integers(0, 4), st.integers(0, 70)),
    share=st.sampled_from([topk.EXHAUSTIVE_SHARE, 1e9]),  # 1e9: never fall back
    # seeds set the floor only: any rows, out of range too, must leave the answer as it is
    seeds=st.one_of(st.none(), st.lists(st.integers(-2, 70), max_size=12)),
    dear=st.booleans(),  # full passes made dear: the pruned path whenever it can be taken
)
def test_top_equals_ranking_every_score(
    corpus: tuple[Columns, int],
    picks: list[tuple[int, float]],
    k: int,
    share: float,
    seeds: list[int] | None,
    dear: bool,
) -> None:
    columns, n_docs = corpus
    n_terms = len(columns.indptr) - 1
    query = [(c % n_terms, f) for c, f in picks]
    at = None if seeds is None else np.array(seeds, dtype=np.int64)
    with pytest.MonkeyPatch.context() as patch:
        if dear:
            patch.setattr(topk, "POSTING_STEPS", 10**9)
        found = topk.top(columns, query, k, n_docs, share=share, seeds=at)
    every = topk.exhaustive(columns, query, n_docs)
    want = ranked_rows(every, k)
    assert found.rows.tolist() == want.tolist()
    assert found.scores.dtype == np.float32
    assert found.scores.tobytes() == every[want].tobytes()
    # the candidates' own scores, by binary search, are the same bits as well
    some = np.flatnonzero(np.arange(n_docs) % 3 == 0)
    assert topk.scores_of(columns, query, some, n_docs).tobytes() == every[some].tobytes()


@settings(max_examples=200, deadline=None)
@given(
    scores=st.lists(st.sampled_from([0.0, 1.0, 2.0, 2.5, 3.0]), max_size=40), k=st.integers(0, 45)
)
def test_ranked_rows_breaks_ties_by_row_at_the_cut_too(scores: list[float], k: int) -> None:
    values = np.array(scores, dtype=np.float32)
    want = sorted((i for i, s in enumerate(scores) if s > 0), key=lambda i: (-scores[i], i))[:k]
    assert ranked_rows(values, k).tolist() == want


def test_top_equals_ranking_on_many_tiny_corpora_full_of_ties() -> None:
    """A seeded sweep of tiny corpora (<= 6 papers, <= 3 terms, weights 0.5/1/2): equal
    scores at the cut are everywhere, where a bound compared with <= instead of < fails."""
    rng = np.random.default_rng(15)
    for _ in range(6000):
        n_docs, n_terms = int(rng.integers(1, 7)), int(rng.integers(1, 4))
        held = [np.flatnonzero(rng.random(n_docs) < 0.5) for _ in range(n_terms)]
        indptr = np.r_[0, np.cumsum([len(h) for h in held])].astype(np.int64)
        data = rng.choice(np.array([1.0, 1.0, 2.0, 0.5], np.float32), int(indptr[-1]))
        columns = Columns(
            indptr, np.concatenate(held).astype(np.int32), data, column_max(indptr, data)
        )
        query = [(int(rng.integers(n_terms)), 1.0) for _ in range(int(rng.integers(1, 4)))]
        k = int(rng.integers(1, 4))
        found = topk.top(columns, query, k, n_docs, share=1e9)
        every = topk.exhaustive(columns, query, n_docs)
        assert found.rows.tolist() == ranked_rows(every, k).tolist(), (held, data, query, k)


def test_a_paper_outside_the_candidates_that_ties_at_the_cut_wins_by_row() -> None:
    """Column 0 holds paper 5, column 1 paper 0, both weight 1: the bound of what column 0
    misses equals the best candidate's score, and the tie goes to the lower row (0)."""
    columns = Columns(
        np.array([0, 1, 2]), np.array([5, 0], np.int32), np.ones(2, np.float32), np.ones(2)
    )
    for share in (topk.EXHAUSTIVE_SHARE, 1e9):
        found = topk.top(columns, [(0, 1.0), (1, 1.0)], 1, 6, share=share)
        assert found.rows.tolist() == [0]


def test_candidates_that_cannot_reach_the_cut_are_not_looked_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rare heavy column (papers 0-9, weights 10 down to 1) and a common light one (all
    1,000 papers, weight 0.1): the top 3 are papers 0-2, and only they are looked up in the
    common column; papers 3-9 cannot reach the third best even with its bound added."""
    n_docs = 1000
    rare = np.arange(10, dtype=np.int32)
    indptr = np.array([0, 10, 10 + n_docs], dtype=np.int64)
    rows = np.r_[rare, np.arange(n_docs, dtype=np.int32)]
    data = np.r_[np.arange(10, 0, -1), np.full(n_docs, 0.1)].astype(np.float32)
    columns = Columns(indptr, rows, data, column_max(indptr, data))
    looked_up: list[int] = []
    scores_of = topk.scores_of

    def spy(index: topk.Postings, query: topk.Query, at: np.ndarray, n: int) -> np.ndarray:
        looked_up.append(len(at))
        return scores_of(index, query, at, n)

    monkeypatch.setattr(topk, "scores_of", spy)
    query = [(0, 1.0), (1, 1.0)]
    found = topk.top(columns, query, 3, n_docs)
    every = topk.exhaustive(columns, query, n_docs)
    assert found.rows.tolist() == [0, 1, 2] == ranked_rows(every, 3).tolist()
    assert found.scores.tobytes() == every[[0, 1, 2]].tobytes()
    assert looked_up[-1] == 3  # the final exact scores: the survivors only, not all 10


def test_factors_must_not_be_negative_or_nan() -> None:
    columns = Columns(
        np.array([0, 1]), np.array([0], np.int32), np.ones(1, np.float32), np.ones(1, np.float32)
    )
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match=">= 0"):
            topk.top(columns, [(0, bad)], 3, 1)


def test_a_row_out_of_range_is_a_damaged_index_not_a_wrong_answer() -> None:
    columns = Columns(
        np.array([0, 2]), np.array([0, 9], np.int32), np.ones(2, np.float32), np.ones(1, np.float32)
    )
    with pytest.raises(CacheInvalid, match="out of range"):
        topk.top(columns, [(0, 1.0)], 1, 3)


def test_the_real_index_bm25_and_rm3_queries(daily_corpus: Path, tmp_path: Path) -> None:
    """On the daily listing: BM25 queries and their RM3 expansions (weighted, longer), pruned
    and exhaustive agree at every depth the re-ranker uses; the expanded scores equal scipy's
    sparse product, how the re-ranker computed them before."""
    local.clear_memo()
    index, _ = open_index(daily_corpus, str(tmp_path / "cache"))
    n_docs = len(index.papers)
    params = load_params()
    assert np.array_equal(index.max_weight, column_max(index.indptr, index.data))
    for query in [*FIXED_QUERIES, "attention attention attention", "zzzz unknownterm", ""]:
        best = index.top_rows(index.pairs(query), params.depth)
        expanded = rm3_query(index, analyze(query), best, params)
        for asked in (index.pairs(query), _weighted(index, expanded)):
            every = topk.exhaustive(index, asked, n_docs)
            if asked:
                columns = [c for c, _ in asked]
                values = np.array([f for _, f in asked], dtype=np.float32)
                scipy = np.asarray(index.weights[:, columns] @ values).ravel()
                assert every.tobytes() == scipy.tobytes(), query
            for k in (1, 10, params.fb_docs, params.depth):
                want = ranked_rows(every, k)
                for seeds in (None, best.rows):
                    found = index.top_rows(asked, k, seeds=seeds)
                    assert found.rows.tolist() == want.tolist(), (query, k)
                    assert found.scores.tobytes() == every[want].tobytes(), (query, k)


@pytest.mark.parametrize("pruned", [False, True])
def test_a_corpus_of_copies_is_ranked_exactly(
    daily_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pruned: bool
) -> None:
    """300 real records and 19 copies of each (how ``bench scale`` grows a corpus): every
    paper's best partial scores are its own copies and ties are everywhere, the hard case for
    a floor. The re-ranker's BM25 and seeded RM3 passes are exact, with full passes as cheap
    as they are at this size, and with them made dear, so that every pass is pruned."""
    full_passes: list[int] = []
    if pruned:
        monkeypatch.setattr(topk, "POSTING_STEPS", 10**9)
        monkeypatch.setattr(topk, "EXHAUSTIVE_SHARE", 1e9)
        exhaustive = topk.exhaustive

        def counted(*args: Any) -> np.ndarray:
            full_passes.append(1)
            return exhaustive(*args)

        monkeypatch.setattr(topk, "exhaustive", counted)
    source = tmp_path / "source.jsonl"
    with daily_corpus.open(encoding="utf-8") as handle:
        source.write_text("".join(line for _, line in zip(range(300), handle, strict=False)))
    corpus = tmp_path / "copies.jsonl"
    generate(source, 6000, corpus)
    local.clear_memo()
    index, _ = open_index(corpus, str(tmp_path / "cache"))
    n_docs = len(index.papers)
    assert n_docs == 6000
    params = load_params()
    for query in FIXED_QUERIES:
        best = index.top_rows(index.pairs(query), params.depth)
        asked = _weighted(index, rm3_query(index, analyze(query), best, params))
        found = index.top_rows(asked, params.depth, seeds=best.rows)
        for ranked, pairs in ((best, index.pairs(query)), (found, asked)):
            every = _exhaustive(index, pairs, n_docs)
            want = ranked_rows(every, params.depth)
            assert ranked.rows.tolist() == want.tolist(), query
            assert ranked.scores.tobytes() == every[want].tobytes(), query
    assert not full_passes  # with full passes made dear, none scored every paper
