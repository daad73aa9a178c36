"""The default offline ranker: BM25 and RM3 candidates, re-ranked by a fitted linear model.

Two stages on top of the lexical index (``local.BM25Index``), using only its query scores,
its term columns and its papers:

1. *Candidates*: the union of BM25's top ``depth`` and the top ``depth`` of an RM3-expanded
   query (pseudo-relevance feedback: the query's terms mixed with the terms most frequent in
   BM25's first ``fb_docs`` papers, each paper weighted by its score). RM3 finds relevant
   papers that share few words with the query; alone it ranks worse than BM25.
2. *Re-ranking*: boosted regression trees (a binary classifier: relevant or not) over features of each candidate (``FEATURES``): its BM25
   and RM3 scores (max-normalised, z-scored within the query, and as a rank discount), the
   IDF-weighted share of the query's distinct terms it contains (whole paper, title, best
   sentence), its best sentence's BM25-like score, the query's adjacent term pairs it has
   adjacent, its length, the query's numbers and unstemmed words it contains. The trees (as
   arrays of features, thresholds, children and leaf values) and the stage-1 settings ship as
   data (``verifier_params/rerank_v1.json``, fitted by ``evals/fit_rerank.py`` on the
   even-numbered SciFact train claims, with provenance), read into numpy: no pickle.

Papers beyond the candidates are not ranked (a search returns at most ``2 * depth`` papers).
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from sovereign_agents.search import topk
from sovereign_agents.search.topk import Ranked
from sovereign_agents.text import STOP_WORDS, analyze, split_sentences, tokens

if TYPE_CHECKING:
    from sovereign_agents.schemas import Paper
    from sovereign_agents.search.local import BM25Index

PARAMS_FILE = "rerank_v1.json"
FEATURES = (
    "bm25_max",  # BM25 / the query's best BM25
    "rm3_max",  # RM3 / the query's best RM3
    "bm25_rank",  # 1 / log2(BM25 rank + 2)
    "rm3_rank",  # 1 / log2(RM3 rank + 2)
    "bm25_z",  # BM25 z-scored over the candidates
    "rm3_z",  # RM3 z-scored over the candidates
    "bm25_per_term",  # BM25 / (distinct query terms + 1)
    "coverage",  # IDF-weighted share of the query's distinct terms in the paper
    "coverage_sq",  # its square
    "title_coverage",  # ... in the title
    "sentence_coverage",  # ... in the best sentence
    "sentence_bm25",  # the best sentence's BM25-like score over the query's IDF mass
    "bigrams",  # share of the query's adjacent term pairs adjacent in the paper
    "log_length",  # log(1 + abstract terms)
    "numbers",  # share of the query's numbers in the paper (0 when it has none)
    "numbers_missing",  # 1 when the query has numbers and the paper none of them
    "exact_words",  # share of the query's content words in the paper, unstemmed
)
_K1 = 1.2
NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Trees:
    """Boosted regression trees as flat arrays, one row per tree, padded to the largest tree.

    Node ``n`` of tree ``t`` is a leaf when ``left[t, n] < 0`` (its score is ``value[t, n]``),
    else a sample goes to ``left[t, n]`` when its feature ``feature[t, n]`` is at most
    ``threshold[t, n]``, to ``right[t, n]`` otherwise. A score is ``base`` plus the leaves'
    values (the learning rate is folded into them).
    """

    feature: np.ndarray  # int
    threshold: np.ndarray
    left: np.ndarray  # int, -1 for a leaf
    right: np.ndarray  # int
    value: np.ndarray
    base: float

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trees:
        trees = data["trees"]
        if not isinstance(trees, list) or not trees:
            raise ValueError("no trees")
        width = max(len(t["left"]) for t in trees)

        def padded(key: str, dtype: type, fill: float) -> np.ndarray:
            out: np.ndarray = np.full((len(trees), width), fill, dtype=dtype)
            for i, tree in enumerate(trees):
                if len(tree[key]) != len(tree["left"]):
                    raise ValueError(f"tree {i}: {key} and left differ in length")
                out[i, : len(tree[key])] = tree[key]
            return out

        model = cls(
            feature=padded("feature", np.int64, 0),
            threshold=padded("threshold", np.float64, 0.0),
            left=padded("left", np.int64, -1),
            right=padded("right", np.int64, -1),
            value=padded("value", np.float64, 0.0),
            base=float(data["base"]),
        )
        inner = model.left >= 0
        if (
            not np.isfinite(np.r_[model.threshold.ravel(), model.value.ravel(), model.base]).all()
            or (model.feature[inner] < 0).any()
            or (model.feature[inner] >= len(FEATURES)).any()
            or (model.left[inner] >= width).any()
            or (model.right[inner] < 0).any()
            or (model.right[inner] >= width).any()
            or (model.left[inner] <= np.nonzero(inner)[1]).any()  # children after parents
            or (model.right[inner] <= np.nonzero(inner)[1]).any()
        ):
            raise ValueError("trees are inconsistent (features, children or values)")
        return model

    def to_json(self) -> dict[str, Any]:
        trees = []
        for t in range(len(self.left)):
            used = int(np.max(np.nonzero(self.left[t] >= 0)[0], initial=-1)) + 1
            used = max(used, int(np.max(self.right[t], initial=0)) + 1, 1)
            trees.append(
                {
                    "feature": self.feature[t, :used].tolist(),
                    "threshold": [float(v) for v in self.threshold[t, :used]],
                    "left": self.left[t, :used].tolist(),
                    "right": self.right[t, :used].tolist(),
                    "value": [float(v) for v in self.value[t, :used]],
                }
            )
        return {"base": float(self.base), "trees": trees}  # exact: JSON keeps float64

    def decision(self, features: np.ndarray) -> np.ndarray:
        """The raw score (log-odds) of each row of ``features`` (rows x FEATURES)."""
        n_trees = len(self.left)
        trees = np.arange(n_trees)[:, None]
        node = np.zeros((n_trees, len(features)), dtype=np.int64)
        samples = np.arange(len(features))[None, :]
        while True:
            left = self.left[trees, node]
            inner = left >= 0
            if not inner.any():
                break
            go_left = features[samples, self.feature[trees, node]] <= self.threshold[trees, node]
            step = np.where(go_left, left, self.right[trees, node])
            node = np.where(inner, step, node)
        return np.asarray(self.base + self.value[trees, node].sum(axis=0))


@dataclass(frozen=True)
class RerankParams:
    """The fitted model and the candidate settings it was fitted with."""

    depth: int
    fb_docs: int
    fb_terms: int
    original_weight: float  # RM3's lambda: the original query's share of the expanded query
    model: Trees | None  # None: features only (what the fitting script starts from)
    provenance: dict[str, Any]
    file: str = PARAMS_FILE

    @classmethod
    def from_json(cls, data: dict[str, Any], file: str = PARAMS_FILE) -> RerankParams:
        """Parameters from their JSON form; ``ValueError`` unless complete and consistent."""
        try:
            names = tuple(data["features"])
            stage1 = data["candidates"]
            params = cls(
                depth=int(stage1["depth"]),
                fb_docs=int(stage1["fb_docs"]),
                fb_terms=int(stage1["fb_terms"]),
                original_weight=float(stage1["original_weight"]),
                model=Trees.from_json(data["model"]),
                provenance=dict(data.get("provenance") or {}),
                file=file,
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"{file}: not a re-ranker parameter file ({exc})") from exc
        if names != FEATURES:
            raise ValueError(f"{file}: features {names} are not {FEATURES}")
        if params.depth < 1 or params.fb_docs < 1 or params.fb_terms < 0:
            raise ValueError(f"{file}: depth and fb_docs must be >= 1, fb_terms >= 0")
        if not 0 <= params.original_weight <= 1:
            raise ValueError(f"{file}: original_weight must lie in [0, 1]")
        return params

    def to_json(self) -> dict[str, Any]:
        if self.model is None:
            raise ValueError("no fitted model to write")
        return {
            "features": list(FEATURES),
            "candidates": {
                "depth": self.depth,
                "fb_docs": self.fb_docs,
                "fb_terms": self.fb_terms,
                "original_weight": self.original_weight,
            },
            "model": self.model.to_json(),
            "provenance": self.provenance,
        }


@functools.lru_cache(maxsize=1)
def load_params(name: str = PARAMS_FILE) -> RerankParams:
    """The shipped parameters (``sovereign_agents/verifier_params/<name>``)."""
    text = resources.files("sovereign_agents.verifier_params").joinpath(name).read_text()
    return RerankParams.from_json(json.loads(text), name)


@dataclass(frozen=True)
class PaperTerms:
    """A paper's analysed text: title, abstract, each abstract sentence."""

    title: tuple[str, ...]
    abstract: tuple[str, ...]
    sentences: tuple[frozenset[str], ...]
    sentence_counts: tuple[Counter[str], ...]
    words: frozenset[str]  # the lower-cased word tokens of title and abstract, unstemmed
    numbers: frozenset[str]

    @classmethod
    def of(cls, paper: Paper) -> PaperTerms:
        sentences = [analyze(s.text) for s in split_sentences(paper.abstract)]
        return cls(
            title=tuple(analyze(paper.title)),
            # a token never spans white space, so the sentences' terms are the abstract's
            abstract=tuple(itertools.chain.from_iterable(sentences)),
            sentences=tuple(frozenset(s) for s in sentences),
            sentence_counts=tuple(Counter(s) for s in sentences),
            words=frozenset(tokens(f"{paper.title} {paper.abstract}")),
            numbers=frozenset(NUMBER.findall(f"{paper.title} {paper.abstract}")),
        )

    @functools.cached_property
    def term_set(self) -> frozenset[str]:
        return frozenset(self.title) | frozenset(self.abstract)

    @functools.cached_property
    def title_set(self) -> frozenset[str]:
        return frozenset(self.title)

    @functools.cached_property
    def adjacent(self) -> frozenset[tuple[str, str]]:
        """Adjacent terms, title then abstract (no pair across the two)."""
        return frozenset(itertools.pairwise([*self.title, "", *self.abstract]))

    @property
    def indexed(self) -> list[str]:
        """The terms as the index counts them: the title twice, then the abstract."""
        return [*self.title, *self.title, *self.abstract]


class _TermsMemo:
    """Analysed papers of one index by row, at most ``limit`` (cleared when full)."""

    def __init__(self, limit: int = 50_000) -> None:
        self.limit = limit
        self.rows: dict[int, PaperTerms] = {}
        self.lock = threading.Lock()

    def get(self, index: BM25Index, row: int) -> PaperTerms:
        found = self.rows.get(row)
        if found is None:
            found = PaperTerms.of(index.papers[row])
            with self.lock:
                if len(self.rows) >= self.limit:
                    self.rows.clear()
                self.rows[row] = found
        return found


_MEMOS: dict[str, _TermsMemo] = {}  # by the corpus file's sha256 (same content, same rows)
_MEMOS_LOCK = threading.Lock()


def _memo(index: BM25Index) -> _TermsMemo:
    with _MEMOS_LOCK:
        memo = _MEMOS.get(index.sha256)
        if memo is None:
            if len(_MEMOS) >= 4:  # a long-lived host may search many corpora
                _MEMOS.clear()
            memo = _MEMOS[index.sha256] = _TermsMemo()
        return memo


def clear_memo() -> None:
    """Forget the analysed papers held in this process."""
    with _MEMOS_LOCK:
        _MEMOS.clear()


@dataclass
class Candidates:
    """Stage 1 of one query: candidate rows and their feature matrix (rows x FEATURES)."""

    rows: np.ndarray
    bm25: np.ndarray  # BM25 score of each candidate
    features: np.ndarray


def _idf(index: BM25Index, columns: list[int]) -> np.ndarray:
    """BM25's IDF of term columns, from their document frequencies (as the index built it)."""
    n_docs = len(index.papers)
    indptr = index.indptr
    df = np.array([indptr[c + 1] - indptr[c] for c in columns], dtype=np.float64)
    return np.log1p((n_docs - df + 0.5) / (df + 0.5))


def _weighted(index: BM25Index, weights: dict[str, float]) -> list[tuple[int, float]]:
    """An expanded query as ``topk`` reads it: (column, weight as float32), in its order."""
    return [(index.vocabulary[t], float(np.float32(w))) for t, w in weights.items()]


def _ranks(top: np.ndarray, rows: np.ndarray, depth: int) -> np.ndarray:
    """The 0-based position of each of ``rows`` in ``top`` (a ranked list), ``depth`` when
    absent."""
    position = {int(r): i for i, r in enumerate(top)}
    return np.array([position.get(int(r), depth) for r in rows], dtype=np.float64)


def rm3_query(
    index: BM25Index, terms: list[str], bm25_top: Ranked, params: RerankParams
) -> dict[str, float]:
    """The RM3-expanded query: term -> weight (the original query's share is
    ``original_weight``, the feedback terms' the rest). ``bm25_top``: BM25's best rows,
    at least ``fb_docs`` of them when there are that many."""
    known = Counter(t for t in terms if t in index.vocabulary)
    total = sum(known.values())
    expanded: defaultdict[str, float] = defaultdict(float)
    for term, n in known.items():
        expanded[term] += params.original_weight * n / total
    feedback_rows = bm25_top.rows[: params.fb_docs]
    feedback_scores = bm25_top.scores[: params.fb_docs]
    mass = float(feedback_scores.sum())
    if mass <= 0 or params.fb_terms == 0:
        return dict(expanded)
    memo = _memo(index)
    feedback: defaultdict[str, float] = defaultdict(float)
    for row, score in zip(feedback_rows, feedback_scores, strict=True):
        indexed = memo.get(index, int(row)).indexed
        share = float(score) / mass / (len(indexed) or 1)
        for term, n in Counter(indexed).items():
            if term in index.vocabulary:
                feedback[term] += share * n
    best = sorted(feedback.items(), key=lambda kv: (-kv[1], kv[0]))[: params.fb_terms]
    norm = sum(w for _, w in best) or 1.0
    for term, w in best:
        expanded[term] += (1 - params.original_weight) * w / norm
    return dict(expanded)


def candidates(index: BM25Index, query: str, params: RerankParams) -> Candidates:
    """Stage 1 and the features of every candidate."""
    terms = analyze(query)
    asked_bm25 = index.pairs(query)
    best_bm25 = index.top_rows(asked_bm25, max(params.depth, params.fb_docs))
    expanded = rm3_query(index, terms, best_bm25, params)
    if not expanded:
        empty = np.zeros(0)
        return Candidates(np.zeros(0, dtype=np.int64), empty, np.zeros((0, len(FEATURES))))
    asked_rm3 = _weighted(index, expanded)
    # BM25's best are RM3's likely best too (its feedback came from them): they set the floor
    best_rm3 = index.top_rows(asked_rm3, params.depth, seeds=best_bm25.rows)
    bm25_top, rm3_top = best_bm25.rows[: params.depth], best_rm3.rows
    rows = np.union1d(bm25_top, rm3_top)
    distinct = [t for t in dict.fromkeys(terms) if t in index.vocabulary]
    idf = dict(zip(distinct, _idf(index, [index.vocabulary[t] for t in distinct]), strict=True))
    asked = _Asked(
        idf=idf,
        idf_mass=sum(idf.values()) or 1.0,
        pairs=list(itertools.pairwise(terms)),
        numbers=frozenset(NUMBER.findall(query)),
        words=frozenset(t for t in tokens(query) if t not in STOP_WORDS),
    )
    memo = _memo(index)
    per_paper = np.array([_paper_features(memo.get(index, int(r)), asked) for r in rows]).reshape(
        len(rows), 9
    )
    n_docs = len(index.papers)
    b = topk.scores_of(index, asked_bm25, rows, n_docs).astype(np.float64)
    x = topk.scores_of(index, asked_rm3, rows, n_docs).astype(np.float64)
    features = np.column_stack(
        [
            b / (_best(best_bm25) or 1.0),
            x / (_best(best_rm3) or 1.0),
            1 / np.log2(_ranks(bm25_top, rows, params.depth) + 2),
            1 / np.log2(_ranks(rm3_top, rows, params.depth) + 2),
            (b - b.mean()) / (b.std() or 1.0),
            (x - x.mean()) / (x.std() or 1.0),
            b / (len(distinct) + 1),
            per_paper[:, 0],
            per_paper[:, 0] ** 2,
            per_paper[:, 1:],
        ]
    )
    return Candidates(rows=rows, bm25=b, features=features)


def _best(ranked: Ranked) -> float:
    """The best score of all papers (0 when none scores above 0)."""
    return float(ranked.scores[0]) if len(ranked.scores) else 0.0


@dataclass(frozen=True)
class _Asked:
    """What a query asks, as the paper features read it."""

    idf: dict[str, float]  # distinct query terms in the index -> IDF
    idf_mass: float
    pairs: list[tuple[str, str]]  # adjacent query terms
    numbers: frozenset[str]
    words: frozenset[str]  # content words, unstemmed


def _paper_features(paper: PaperTerms, asked: _Asked) -> tuple[float, ...]:
    """coverage .. log_length, numbers, numbers_missing, exact_words (see ``FEATURES``)."""
    idf_mass, pairs = asked.idf_mass, asked.pairs
    # the query's terms in the paper, in the query's order: every sum below adds the same
    # values in the same order as a sum over all the query's terms (the others add nothing)
    present = [(t, w) for t, w in asked.idf.items() if t in paper.term_set]
    coverage = sum(w for _, w in present) / idf_mass
    title_coverage = sum(w for t, w in present if t in paper.title_set) / idf_mass
    sentence_coverage = max(
        (sum(w for t, w in present if t in s) for s in paper.sentences), default=0.0
    )
    sentence_bm25 = max(
        (
            sum(w * c * (_K1 + 1) / (c + _K1) for t, w in present if (c := counts[t]))
            for counts in paper.sentence_counts
        ),
        default=0.0,
    )
    adjacent = paper.adjacent
    bigrams = sum(1 for p in pairs if p in adjacent) / len(pairs) if pairs else 0.0
    return (
        coverage,
        title_coverage,
        sentence_coverage / idf_mass,
        sentence_bm25 / idf_mass,
        bigrams,
        math.log1p(len(paper.abstract)),
        len(found) / len(asked.numbers) if (found := asked.numbers & paper.numbers) else 0.0,
        float(bool(asked.numbers) and not asked.numbers & paper.numbers),
        len(asked.words & paper.words) / len(asked.words) if asked.words else 0.0,
    )


def rerank_scores(features: np.ndarray, params: RerankParams) -> np.ndarray:
    """The model's probability that each candidate is relevant."""
    if params.model is None:
        raise ValueError("these re-ranker parameters have no fitted model")
    return np.asarray(1 / (1 + np.exp(-params.model.decision(features))))


def rerank(
    index: BM25Index, query: str, k: int, params: RerankParams | None = None
) -> list[tuple[Paper, float]]:
    """The ``k`` best papers for ``query`` by the re-ranker, best first, with its
    probability of relevance (ties by BM25, then by row)."""
    params = params or load_params()
    found = candidates(index, query, params)
    if k <= 0 or not len(found.rows):
        return []
    scores = rerank_scores(found.features, params)
    order = np.lexsort((found.rows, -found.bm25, -scores))[:k]
    return [(index.papers[int(found.rows[i])], float(scores[i])) for i in order]


def describe(params: RerankParams | None = None) -> str:
    """The ranking in one phrase, for the report's Methodology."""
    params = params or load_params()
    stem = params.file.removesuffix(".json")
    n_trees = len(params.model.left) if params.model is not None else 0
    return (
        f"BM25 and RM3 candidates re-ranked by {n_trees} fitted boosted trees ({stem}, "
        "SciFact train)"
    )
