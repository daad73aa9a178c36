"""Search quality the BEIR way, on SciFact: claims are queries, their cited abstracts relevant.

The SciFact corpus is converted on the fly into the arXiv metadata JSON Lines the corpus
loader reads (Kaggle fields ``id``, ``title``, ``abstract``), written to the cache folder (never
the repository), and indexed by the same ``open_index`` the research graph uses. Two rankers:

* ``bm25``: the local BM25 index as the graph uses it;
* ``hybrid``: BM25 fused with LSA cosine (the offline semantic index, TF-IDF + SVD) by score
  interpolation: ``alpha * bm25 / max(bm25) + (1 - alpha) * cos / max(cos)``;
* ``rerank``: the graph's default ranking (``search/rerank.py``): BM25 and RM3 candidates
  re-ranked by the fitted boosted trees of ``verifier_params/rerank_v1.json``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from sovereign_agents.cache import cache_dir
from sovereign_agents.corpus import file_sha256
from sovereign_agents.embeddings import LSAEmbeddings, corpus_lsa
from sovereign_agents.errors import InputError
from sovereign_agents.evals.retrieval_metrics import mean, ndcg_at_k, recall_at_k
from sovereign_agents.search.local import BM25Index, open_index
from sovereign_agents.wording import count

Ranker = Callable[[str], list[str]]
SPLITS = ("train", "dev", "test")
RANKERS = ("bm25", "hybrid", "rerank")
DEFAULT_RANKER = "rerank"  # what LocalCorpusSearch.search ranks by
DEFAULT_ALPHA = 0.8  # chosen on the even-numbered train claims, checked on the odd ones
BEIR_BM25_NDCG10 = 0.665  # BEIR's published BM25 nDCG@10 on SciFact


class Query(BaseModel):
    id: str
    text: str
    relevant: list[str]


class RankerScores(BaseModel):
    ndcg_at_10: float
    recall_at_100: float
    seconds: float


class RetrievalReport(BaseModel):
    dataset: str
    split: str
    queries: int
    documents: int
    corpus_file: str
    beir_bm25_ndcg_at_10: float = BEIR_BM25_NDCG10
    alpha: float
    lsa_dim: int
    default_ranker: str = DEFAULT_RANKER
    rankers: dict[str, RankerScores]
    hybrid_beats_bm25: bool | None  # None when either was not scored


def convert_scifact(source: Path, cache: str | None = None) -> Path:
    """SciFact ``corpus.jsonl`` -> arXiv metadata JSON Lines in the cache folder (once)."""
    if not source.is_file():
        raise InputError(f"SciFact corpus not found: {source}")
    target = cache_dir(cache) / f"scifact-arxiv-{file_sha256(source)[:16]}.jsonl"
    if target.is_file():
        return target
    tmp = target.with_suffix(".tmp")
    with source.open(encoding="utf-8") as src, tmp.open("w", encoding="utf-8") as dst:
        for number, line in enumerate(src, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                record = {
                    "id": str(row["doc_id"]),
                    "title": row["title"],
                    "abstract": " ".join(row["abstract"]),
                }
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(f"{source} line {number}: not a SciFact document ({exc})") from exc
            dst.write(json.dumps(record, ensure_ascii=False) + "\n")
    tmp.replace(target)
    return target


def load_queries(path: Path) -> list[Query]:
    """SciFact claims with at least one cited document (the BEIR qrels)."""
    if not path.is_file():
        raise InputError(f"SciFact claims not found: {path}")
    queries: list[Query] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            cited = [str(d) for d in row.get("cited_doc_ids") or []]
            claim = str(row["claim"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"{path} line {number}: not a SciFact claim ({exc})") from exc
        if cited:
            queries.append(Query(id=str(row.get("id", number)), text=claim, relevant=cited))
    if not queries:
        raise InputError(f"{path}: no claims with cited documents")
    return queries


def bm25_ranker(index: BM25Index, depth: int = 100) -> Ranker:
    def rank(query: str) -> list[str]:
        return [paper.id for paper, _ in index.top(query, depth)]

    return rank


def rerank_ranker(index: BM25Index, depth: int = 100) -> Ranker:
    from sovereign_agents.search.rerank import rerank

    def rank(query: str) -> list[str]:
        return [paper.id for paper, _ in rerank(index, query, depth)]

    return rank


def top_ids(scores: np.ndarray, ids: Sequence[str], depth: int) -> list[str]:
    """Ids of the ``depth`` best scores, best first, ties by position (deterministic)."""
    depth = min(depth, len(scores))
    candidates = np.argpartition(-scores, depth - 1)[:depth]
    order = candidates[np.lexsort((candidates, -scores[candidates]))]
    return [ids[i] for i in order if scores[i] > 0]


def interpolate(lexical: np.ndarray, semantic: np.ndarray, alpha: float) -> np.ndarray:
    """Max-normalised score interpolation; negative cosines count as 0."""
    semantic = np.clip(semantic, 0.0, None)
    lex_max = float(lexical.max()) if lexical.size else 0.0
    sem_max = float(semantic.max()) if semantic.size else 0.0
    return alpha * lexical / (lex_max or 1.0) + (1 - alpha) * semantic / (sem_max or 1.0)


class HybridRanker:
    """BM25 fused with LSA cosine over the same documents."""

    def __init__(self, index: BM25Index, lsa: LSAEmbeddings, alpha: float, depth: int = 100):
        if not 0 <= alpha <= 1:
            raise InputError("alpha must lie in [0, 1]")
        self.index = index
        self.lsa = lsa
        self.alpha = alpha
        self.depth = depth
        self.ids = [p.id for p in index.papers]
        self.doc_vectors = lsa.matrix([p.text for p in index.papers]).astype(np.float32)

    def __call__(self, query: str) -> list[str]:
        semantic = self.doc_vectors @ self.lsa.matrix([query])[0].astype(np.float32)
        return top_ids(
            interpolate(self.index.scores(query), semantic, self.alpha), self.ids, self.depth
        )


def score_ranker(ranker: Ranker, queries: Sequence[Query]) -> RankerScores:
    started = time.perf_counter()
    ndcg: list[float] = []
    recall: list[float] = []
    for query in queries:
        ranked = ranker(query.text)
        ndcg.append(ndcg_at_k(ranked, query.relevant, 10))
        recall.append(recall_at_k(ranked, query.relevant, 100))
    return RankerScores(
        ndcg_at_10=round(mean(ndcg), 4),
        recall_at_100=round(mean(recall), 4),
        seconds=round(time.perf_counter() - started, 3),
    )


def run_retrieval_eval(
    data_dir: Path,
    *,
    split: str = "train",
    alpha: float = DEFAULT_ALPHA,
    lsa_dim: int = 128,
    limit: int | None = None,
    cache: str | None = None,
    rankers: Sequence[str] = RANKERS,
) -> RetrievalReport:
    """Score ``rankers`` (BM25, the hybrid, the re-ranker) on SciFact claims of ``split``
    (first ``limit`` if given)."""
    if split not in SPLITS:
        raise InputError(f"split must be one of {SPLITS}, not {split!r}")
    unknown = [r for r in rankers if r not in RANKERS]
    if unknown or not rankers:
        raise InputError(f"rankers must be among {RANKERS}, not {list(rankers)}")
    queries = load_queries(data_dir / f"claims_{split}.jsonl")
    if limit is not None:
        if limit < 1:
            raise InputError("--limit must be >= 1")
        queries = queries[:limit]
    corpus_file = convert_scifact(data_dir / "corpus.jsonl", cache)
    index, _ = open_index(corpus_file, cache)
    scores: dict[str, RankerScores] = {}
    dim = lsa_dim
    for name in dict.fromkeys(rankers):
        if name == "bm25":
            scores[name] = score_ranker(bm25_ranker(index), queries)
        elif name == "rerank":
            scores[name] = score_ranker(rerank_ranker(index), queries)
        else:
            lsa = corpus_lsa(index.sha256, [p.text for p in index.papers], lsa_dim, cache)
            dim = lsa.dim
            scores[name] = score_ranker(HybridRanker(index, lsa, alpha), queries)
    return RetrievalReport(
        dataset="scifact",
        split=split,
        queries=len(queries),
        documents=len(index.papers),
        corpus_file=str(corpus_file),
        alpha=alpha,
        lsa_dim=dim,
        rankers=scores,
        hybrid_beats_bm25=scores["hybrid"].ndcg_at_10 > scores["bm25"].ndcg_at_10
        if {"hybrid", "bm25"} <= scores.keys()
        else None,
    )


def markdown_table(report: RetrievalReport) -> str:
    lines = [
        f"SciFact {report.split}: {count(report.queries, 'claim')}, "
        f"{count(report.documents, 'abstract')} "
        f"(BEIR BM25 nDCG@10 {report.beir_bm25_ndcg_at_10})",
        "",
        "| ranker | nDCG@10 | recall@100 | seconds |",
        "| --- | ---: | ---: | ---: |",
    ]
    labels = {
        "hybrid": f"hybrid (BM25 + LSA-{report.lsa_dim}, alpha={report.alpha})",
        "rerank": "rerank (BM25 + RM3 candidates, fitted trees)",
    }
    for name, s in report.rankers.items():
        label = labels.get(name, name)
        if name == report.default_ranker:
            label += " — the graph's ranker"
        lines.append(f"| {label} | {s.ndcg_at_10:.4f} | {s.recall_at_100:.4f} | {s.seconds:.2f} |")
    return "\n".join(lines)
