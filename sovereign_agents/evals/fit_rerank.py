"""Fit the default offline ranker's re-ranker (``search/rerank.py``) on SciFact train.

    python -m sovereign_agents.evals.fit_rerank [--data DIR] [--out FILE]

Every SciFact train claim with cited abstracts is a query; its candidates (stage 1: BM25's and
the RM3-expanded query's top ``depth``) are labelled relevant when the claim cites them. Boosted
regression trees over ``rerank.FEATURES`` (sklearn's ``HistGradientBoostingClassifier``,
exported as plain arrays) are fitted on the even-numbered claims (their position in the file,
as ``eval retrieval`` reads it). The tree settings are chosen among ``GRID`` inside the even
claims (fitted on claims 0, 4, 8, ..., scored by nDCG@10 on 2, 6, 10, ...), then refitted on all
even claims. The odd-numbered claims are the check: nDCG@10 and recall@100 of BM25 and of the
re-ranker on the even, odd and all claims go into the parameters' provenance.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from sklearn.ensemble import HistGradientBoostingClassifier

from sovereign_agents.evals.retrieval import Query, convert_scifact, load_queries
from sovereign_agents.evals.retrieval_metrics import mean, ndcg_at_k, recall_at_k
from sovereign_agents.evals.scifact import sha256_of
from sovereign_agents.search.local import BM25Index, open_index
from sovereign_agents.search.rerank import (
    PARAMS_FILE,
    Candidates,
    RerankParams,
    Trees,
    candidates,
    rerank_scores,
)

PARAMS_PATH = Path(__file__).resolve().parents[1] / "verifier_params" / PARAMS_FILE
STAGE1 = {"depth": 100, "fb_docs": 10, "fb_terms": 20, "original_weight": 0.5}
GRID = (  # (trees, learning rate, depth)
    (100, 0.1, 2),
    (200, 0.05, 2),
    (100, 0.1, 3),
    (200, 0.05, 3),
)


def stage1_params(**stage1: float) -> RerankParams:
    """Stage-1 settings with an untrained model (features only)."""
    return RerankParams(
        depth=int(stage1["depth"]),
        fb_docs=int(stage1["fb_docs"]),
        fb_terms=int(stage1["fb_terms"]),
        original_weight=float(stage1["original_weight"]),
        model=None,
        provenance={},
    )


def fit_trees(x: np.ndarray, y: np.ndarray, setting: tuple[int, float, int]) -> Trees:
    """Boosted trees fitted on ``x``, ``y`` and exported as arrays; the export is checked
    against sklearn's own scores."""
    n_trees, rate, depth = setting
    model = HistGradientBoostingClassifier(
        max_iter=n_trees, learning_rate=rate, max_depth=depth, early_stopping=False, random_state=0
    ).fit(x, y)
    trees = []
    for (predictor,) in model._predictors:  # the fitted trees (no public accessor)
        nodes = predictor.nodes
        leaf = nodes["is_leaf"].astype(bool)
        trees.append(
            {
                "feature": nodes["feature_idx"].astype(int).tolist(),
                "threshold": nodes["num_threshold"].astype(float).tolist(),
                "left": np.where(leaf, -1, nodes["left"].astype(np.int64)).tolist(),
                "right": np.where(leaf, -1, nodes["right"].astype(np.int64)).tolist(),
                "value": np.where(leaf, nodes["value"], 0.0).astype(float).tolist(),
            }
        )
    base = float(np.ravel(model._baseline_prediction)[0])
    exported = Trees.from_json({"base": base, "trees": trees})
    if not np.allclose(exported.decision(x[:2000]), model.decision_function(x[:2000]), atol=1e-6):
        raise RuntimeError("the exported trees do not reproduce sklearn's scores")
    return exported


def with_model(base: RerankParams, model: Trees) -> RerankParams:
    return RerankParams(**{**base.__dict__, "model": model})


def ranked_ids(index: BM25Index, found: Candidates, scores: np.ndarray) -> list[str]:
    order = np.lexsort((found.rows, -found.bm25, -scores))
    return [index.papers[int(found.rows[i])].id for i in order]


def quality(ranked: list[list[str]], queries: list[Query], part: str) -> dict[str, float]:
    chosen = [i for i in range(len(queries)) if part == "all" or i % 2 == (part == "odd")]
    return {
        "ndcg_at_10": round(
            mean([ndcg_at_k(ranked[i], queries[i].relevant, 10) for i in chosen]), 4
        ),
        "recall_at_100": round(
            mean([recall_at_k(ranked[i], queries[i].relevant, 100) for i in chosen]), 4
        ),
    }


def report(ranked: list[list[str]], queries: list[Query]) -> dict[str, dict[str, float]]:
    return {part: quality(ranked, queries, part) for part in ("even", "odd", "all")}


def main(
    data: Annotated[Path | None, typer.Option(help="SciFact folder")] = None,
    out: Annotated[Path, typer.Option()] = PARAMS_PATH,
) -> None:
    from sovereign_agents.testing import shared_data

    folder = data or shared_data() / "scifact"
    claims = folder / "claims_train.jsonl"
    queries = load_queries(claims)
    index, _ = open_index(convert_scifact(folder / "corpus.jsonl"))
    base = stage1_params(**STAGE1)
    found = [candidates(index, q.text, base) for q in queries]
    relevant = [set(q.relevant) for q in queries]
    labels = [
        np.array([index.papers[int(r)].id in rel for r in c.rows], dtype=int)
        for c, rel in zip(found, relevant, strict=True)
    ]
    even = [i for i in range(len(queries)) if i % 2 == 0]
    inner_fit, inner_check = even[0::2], even[1::2]

    def stack(rows: list[int]) -> tuple[np.ndarray, np.ndarray]:
        return np.vstack([found[i].features for i in rows]), np.concatenate(
            [labels[i] for i in rows]
        )

    def ranking(params: RerankParams, rows: list[int]) -> dict[int, list[str]]:
        return {
            i: ranked_ids(index, found[i], rerank_scores(found[i].features, params)) for i in rows
        }

    choice: list[tuple[float, tuple[int, float, int]]] = []
    for setting in GRID:
        params = with_model(base, fit_trees(*stack(inner_fit), setting))
        ranked_inner = ranking(params, inner_check)
        score = mean([ndcg_at_k(ranked_inner[i], queries[i].relevant, 10) for i in inner_check])
        typer.echo(f"trees {setting}: nDCG@10 {score:.4f} on the inner check claims", err=True)
        choice.append((score, setting))
    setting = max(choice, key=lambda c: c[0])[1]
    x, y = stack(even)
    params = with_model(base, fit_trees(x, y, setting))
    everything = ranking(params, list(range(len(queries))))
    ranked = [everything[i] for i in range(len(queries))]
    bm25 = [[index.papers[int(c.rows[i])].id for i in np.lexsort((c.rows, -c.bm25))] for c in found]
    provenance = {
        "data": {
            "claims": claims.name,
            "sha256": sha256_of(claims),
            "corpus_sha256": sha256_of(folder / "corpus.jsonl"),
        },
        "split": "fitted and chosen on the even-numbered train claims (0, 2, ...), checked on "
        "the odd ones",
        "model": "boosted trees (sklearn HistGradientBoostingClassifier, log loss, no early "
        f"stopping, random_state 0): {setting[0]} trees, learning rate {setting[1]}, depth "
        f"{setting[2]}; chosen from {[list(g) for g in GRID]} by nDCG@10 on the even claims "
        "2, 6, 10, ... after fitting on 0, 4, 8, ...",
        "inner_choice": {str(list(g)): round(v, 4) for v, g in choice},
        "stage1": STAGE1,
        "examples": {"fit": len(y), "fit_relevant": int(y.sum()), "queries": len(queries)},
        "bm25": report(bm25, queries),
        "rerank": report(ranked, queries),
        "fitted": dt.date.today().isoformat(),
        "script": "python -m sovereign_agents.evals.fit_rerank",
    }
    fitted = RerankParams(**{**params.__dict__, "provenance": provenance})
    if RerankParams.from_json(fitted.to_json()).model is None:  # pragma: no cover
        raise RuntimeError("the written parameters do not load")
    text = json.dumps(fitted.to_json(), indent=2) + "\n"
    out.write_text(text)
    typer.echo(text)


if __name__ == "__main__":
    typer.run(main)
