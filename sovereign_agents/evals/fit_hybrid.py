"""Refit the hybrid verifier's parameters on SciFact train.

    python -m sovereign_agents.evals.fit_hybrid [--claims FILE] [--corpus FILE] [--out FILE]

Pairs are split by cited document (``scifact.split_pairs``, 30 % held out). Both logistic
regressions and both thresholds are fitted on the fit split only; the provenance records the
metrics on the held-out split and on all of train (which includes the fit split, so the
all-train numbers are optimistic). The parameters land in
``sovereign_agents/verifier_params/hybrid_v1.json`` by default.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from sklearn.linear_model import LogisticRegression

from sovereign_agents.errors import InputError
from sovereign_agents.evals.scifact import Pair, load_pairs, sha256_of, split_pairs, train_files
from sovereign_agents.evals.verification import DEFAULT_BATCH, evaluate, metrics_of
from sovereign_agents.evals.verification_metrics import prf
from sovereign_agents.verification.hybrid import (
    FEATURES,
    HybridParams,
    HybridVerifier,
    Logistic,
    pair_features,
)

PARAMS_PATH = Path(__file__).resolve().parents[1] / "verifier_params" / "hybrid_v1.json"
STANCE_FEATURES = (
    "combo_max",
    "coverage_best",
    "claim_has_numbers",
    "number_mismatch",
    "claim_negated",
    "evidence_negated",
    "negation_mismatch",
    "direction_conflict",
    "direction_conflict_top2",
    "claim_direction",
    "evidence_direction",
)
C = 1.0


def feature_matrix(pairs: Sequence[Pair], batch: int = DEFAULT_BATCH) -> np.ndarray:
    rows = []
    for start in range(0, len(pairs), batch):
        chunk = pairs[start : start + batch]
        rows += [
            s.features for s in pair_features([p.claim for p in chunk], [p.source for p in chunk])
        ]
    return np.vstack(rows)


def fit_logistic(matrix: np.ndarray, target: np.ndarray, features: Sequence[str]) -> Logistic:
    columns = [FEATURES.index(f) for f in features]
    x = matrix[:, columns]
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=C, max_iter=1000).fit((x - mean) / scale, target)
    return Logistic(tuple(features), mean, scale, model.coef_[0], float(model.intercept_[0]))


def best_threshold(scores: np.ndarray, gold: np.ndarray) -> float:
    """The threshold (on a 0.01 grid) with the highest F1; ties go to the higher one."""
    best, best_f1 = 0.5, -1.0
    for t in np.round(np.arange(0.05, 0.96, 0.01), 2):
        f1 = prf(list(scores >= t), list(gold)).f1
        if f1 >= best_f1:
            best, best_f1 = float(t), f1
    return best


def fit(
    pairs: Sequence[Pair], batch: int = DEFAULT_BATCH
) -> tuple[HybridParams, list[Pair], list[Pair]]:
    fit_pairs, held = split_pairs(pairs)
    matrix = feature_matrix(fit_pairs, batch)
    labels = np.asarray([p.label for p in fit_pairs])
    has_evidence = labels != "NONE"
    evidence = fit_logistic(matrix, has_evidence.astype(int), FEATURES)
    stance = fit_logistic(
        matrix[has_evidence], (labels[has_evidence] == "SUPPORT").astype(int), STANCE_FEATURES
    )
    p_evidence = evidence.proba(matrix)
    p_support = p_evidence * stance.proba(matrix)
    params = HybridParams(
        evidence=evidence,
        stance=stance,
        evidence_threshold=best_threshold(p_evidence, has_evidence),
        threshold=best_threshold(p_support, labels == "SUPPORT"),
    )
    return params, fit_pairs, held


def main(
    claims: Annotated[Path | None, typer.Option(help="SciFact claims_train.jsonl")] = None,
    corpus: Annotated[Path | None, typer.Option(help="SciFact corpus.jsonl")] = None,
    out: Annotated[Path, typer.Option(help="where to write the parameters")] = PARAMS_PATH,
    batch: Annotated[int, typer.Option(help="pairs per verifier call")] = DEFAULT_BATCH,
) -> None:
    claims, corpus = train_files(claims, corpus)
    try:
        pairs = load_pairs(claims, corpus)
    except InputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from exc
    params, fit_pairs, held = fit(pairs, batch)
    run = evaluate(HybridVerifier(params, stance=None), pairs, batch)  # its own two stages
    held_keys = {(p.claim_id, p.doc_id) for p in held}
    fit_keys = {(p.claim_id, p.doc_id) for p in fit_pairs}
    on = {
        "held_out": metrics_of([r for r in run.results if (r.claim_id, r.doc_id) in held_keys]),
        "fit": metrics_of([r for r in run.results if (r.claim_id, r.doc_id) in fit_keys]),
        "all_train": run.metrics,
    }
    provenance = {
        "data": {
            "claims": claims.name,
            "claims_sha256": sha256_of(claims),
            "corpus": corpus.name,
            "corpus_sha256": sha256_of(corpus),
        },
        "split": "pairs grouped by cited doc_id; held out when sha256('scifact-doc-<id>') "
        "< 0.3 (sovereign_agents.evals.scifact.split_pairs)",
        "fit": {"pairs": len(fit_pairs), "C": C, "batch": batch},
        "held_out_pairs": len(held),
        "date": dt.date.today().isoformat(),
        "thresholds": "chosen for the best F1 on the fit split (evidence, support)",
        "metrics": {k: m.summary() for k, m in on.items()},
        "script": "python -m sovereign_agents.evals.fit_hybrid",
    }
    params = HybridParams(
        params.evidence, params.stance, params.evidence_threshold, params.threshold, provenance
    )
    out.write_text(json.dumps(params.to_dict(), indent=1) + "\n")
    typer.echo(json.dumps(provenance["metrics"], indent=1))
    typer.echo(f"written: {out}")


if __name__ == "__main__":
    typer.run(main)
