"""Fit the claim-relevance model (``relevance.py``) on SciFact train.

    python -m sovereign_agents.evals.fit_relevance [--claims FILE] [--corpus FILE] [--out FILE]

Each SciFact claim is read as a goal ("Is it true that <claim>?"). Its candidate sentences are
every sentence of each abstract it cites (a rationale sentence bears on the goal, the others
do not) and the sentences of one abstract cited by another claim (a paper on something else).
A logistic regression over ``relevance.FEATURES`` is fitted on the fit split of
``scifact.split_pairs`` (by cited document); the threshold maximises F1 on the fit split and
the held-out numbers are recorded in the parameters' provenance.

Every feature has a known direction (``SIGNS``: naming the goal's concepts or answering its ask
can only add relevance, background can only take it away). SciFact's goals are all yes/no
claims, on which "answers the ask" is nearly the conjunction of the concept features, so an
unconstrained fit may give it a negative weight that would penalise answering claims on other
goals. A feature whose fitted weight has the wrong sign is dropped (weight 0) and the model
refitted, until every weight agrees with its direction.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from sklearn.linear_model import LogisticRegression

from sovereign_agents.evals.scifact import (
    Pair,
    example_counts,
    load_pairs,
    sha256_of,
    split_pairs,
    train_files,
)
from sovereign_agents.evals.verification_metrics import prf
from sovereign_agents.goal import harvest_aliases, understand_goal
from sovereign_agents.relevance import FEATURES, features

PARAMS_PATH = Path(__file__).resolve().parents[1] / "verifier_params" / "relevance_v1.json"


def goal_of(claim: str) -> str:
    return f"Is it true that {claim.rstrip('.')}?"


def examples(pairs: list[Pair], seed: int = 13) -> tuple[np.ndarray, np.ndarray]:
    rng = random.Random(seed)
    rows: list[list[float]] = []
    labels: list[int] = []
    for pair in pairs:
        analysis = understand_goal(goal_of(pair.claim))
        others = [p for p in (rng.choice(pairs) for _ in range(3)) if p.doc_id != pair.doc_id][:1]
        for doc, gold in [(pair, set(pair.evidence)), *[(o, set()) for o in others]]:
            aliases = harvest_aliases([doc.source])
            for i, sentence in enumerate(doc.sentences):
                values = features(analysis, sentence, doc.source, aliases)
                rows.append([values[f] for f in FEATURES])
                labels.append(int(i in gold))
    return np.array(rows), np.array(labels)


SIGNS = {
    "core_claim": 1,
    "core_paper": 1,
    "aspect_claim": 1,
    "ask_answered": 1,
    "finding": 1,
    "background": -1,
}


def fit_signed(x: np.ndarray, y: np.ndarray) -> tuple[dict[str, float], float, list[str]]:
    """A logistic regression whose weights agree with ``SIGNS``: wrong-signed features are
    dropped (weight 0) one at a time, the most wrong first, and the rest refitted."""
    kept = list(FEATURES)
    dropped: list[str] = []
    while True:
        cols = [FEATURES.index(f) for f in kept]
        model = LogisticRegression(C=1.0, max_iter=1000).fit(x[:, cols], y)
        coef = dict(zip(kept, (float(w) for w in model.coef_[0]), strict=True))
        wrong = [f for f in kept if coef[f] * SIGNS[f] < 0]
        if not wrong:
            weights = {f: round(coef.get(f, 0.0), 4) for f in FEATURES}
            return weights, float(model.intercept_[0]), dropped
        worst = min(wrong, key=lambda f: coef[f] * SIGNS[f])
        kept.remove(worst)
        dropped.append(worst)


def probabilities(x: np.ndarray, weights: dict[str, float], intercept: float) -> np.ndarray:
    z = intercept + x @ np.array([weights[f] for f in FEATURES])
    return np.asarray(1 / (1 + np.exp(-z)))


def best_threshold(p: np.ndarray, y: np.ndarray) -> float:
    grid = np.round(np.arange(0.1, 0.9, 0.01), 2)
    gold = list(y == 1)
    f1s = [prf(list(p >= t), gold).f1 for t in grid]
    return float(grid[int(np.argmax(f1s))])


def main(
    claims: Annotated[Path | None, typer.Option()] = None,
    corpus: Annotated[Path | None, typer.Option()] = None,
    out: Annotated[Path, typer.Option()] = PARAMS_PATH,
) -> None:
    claims, corpus = train_files(claims, corpus)
    pairs = [p for p in load_pairs(claims, corpus) if p.label != "NONE"]
    fit, held = split_pairs(pairs)
    x, y = examples(fit)
    weights, intercept, dropped = fit_signed(x, y)
    p_fit = probabilities(x, weights, intercept)
    threshold = best_threshold(p_fit, y)
    xh, yh = examples(held)
    p_held = probabilities(xh, weights, intercept)
    held_prf = prf(list(p_held >= threshold), list(yh == 1))
    precision, recall, f1 = held_prf.precision, held_prf.recall, held_prf.f1
    params = {
        "weights": weights,
        "intercept": round(intercept, 4),
        "threshold": threshold,
        "provenance": {
            "data": {
                "claims": claims.name,
                "sha256": sha256_of(claims),
                "corpus_sha256": sha256_of(corpus),
            },
            "signs": "weights agree with fit_relevance.SIGNS; dropped for a wrong sign: "
            + (", ".join(dropped) or "none"),
            "split": "scifact.split_pairs (30 % of cited documents held out); claims with evidence only",
            "examples": example_counts(y.tolist(), yh.tolist()),
            "held_out": {
                "precision": round(precision, 4),
                "recall": round(recall, 4),
                "f1": round(f1, 4),
            },
            "fitted": dt.date.today().isoformat(),
            "script": "python -m sovereign_agents.evals.fit_relevance",
        },
    }
    out.write_text(json.dumps(params, indent=2) + "\n")
    print(json.dumps(params, indent=2))


if __name__ == "__main__":
    typer.run(main)
