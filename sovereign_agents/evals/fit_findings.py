"""Fit the finding-sentence model (``findings.py``) on SciFact train.

    python -m sovereign_agents.evals.fit_findings [--claims FILE] [--corpus FILE] [--out FILE]

Each SciFact claim is read as a goal ("Is it true that <claim>?"), as ``eval research`` reads
it. Its candidate papers are the abstracts it cites and the 12 the local BM25 index ranks first
for the goal (what a run would read); every sentence of them, split as the extractive engine
splits an abstract, is an example: positive when it is a gold rationale sentence of the claim,
negative otherwise (background, methods, other papers' sentences).

Only the claims that ``eval research``'s reported slice does not contain are used: the first
``RESERVED`` claims with cited abstracts (the slice the README reports) are left out. Of the
rest, the even-numbered claims fit the model and choose the selection rule (probability
threshold and claims per paper, for the best sentence F1); the odd-numbered ones give the
held-out numbers in the provenance.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from sklearn.linear_model import LogisticRegression

from sovereign_agents.evals.research import goal_of, load_gold
from sovereign_agents.evals.research_metrics import GoldClaim, locate
from sovereign_agents.evals.retrieval import convert_scifact
from sovereign_agents.evals.scifact import example_counts, sha256_of, train_files
from sovereign_agents.findings import FEATURES, sections, sentence_features, skipped
from sovereign_agents.goal import harvest_aliases, understand_goal
from sovereign_agents.search.local import BM25Index, open_index
from sovereign_agents.text import split_sentences

PARAMS_PATH = Path(__file__).resolve().parents[1] / "verifier_params" / "findings_v1.json"
RESERVED = 300  # eval research's reported slice: the first 300 claims with cited abstracts
CANDIDATES = 12  # papers a run keeps (Context.search.max_papers)

Example = tuple[int, str, list[float], int]  # claim, doc, features, label


def claim_examples(
    gold: GoldClaim, index: BM25Index, docs: dict[str, tuple[str, str, list[str]]]
) -> list[Example]:
    goal = goal_of(gold.claim)
    analysis = understand_goal(goal)
    ranked = [p.id for p, _ in index.top(goal, CANDIDATES)]
    out: list[Example] = []
    for doc in dict.fromkeys([*gold.rationales, *ranked]):
        title, abstract, scifact_sentences = docs[doc]
        text = f"{title}. {abstract}"
        split = split_sentences(abstract)
        rows = sentence_features(analysis, [s.text for s in split], text, harvest_aliases([text]))
        labels = sections([s.text for s in split])
        rationale = set(gold.rationales.get(doc, []))
        for sentence, row, label in zip(split, rows, labels, strict=True):
            if skipped(sentence.text, label):
                continue
            found = locate(sentence.text, sentence.start, sentence.end, scifact_sentences)
            out.append((gold.id, doc, [row[f] for f in FEATURES], int(bool(found & rationale))))
    return out


def select(examples: list[Example], p: np.ndarray, threshold: float, per_paper: int) -> np.ndarray:
    """The selection rule: per (claim, paper), the ``per_paper`` most probable sentences with
    probability >= ``threshold``."""
    chosen = np.zeros(len(examples), dtype=bool)
    groups: dict[tuple[int, str], list[int]] = {}
    for i, (claim, doc, _, _) in enumerate(examples):
        groups.setdefault((claim, doc), []).append(i)
    for rows in groups.values():
        best = sorted(rows, key=lambda i: -p[i])[:per_paper]
        for i in best:
            chosen[i] = p[i] >= threshold
    return chosen


def sentence_prf(chosen: np.ndarray, y: np.ndarray) -> dict[str, float]:
    tp = int((chosen & (y == 1)).sum())
    fp = int((chosen & (y == 0)).sum())
    fn = int((~chosen & (y == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def main(
    claims: Annotated[Path | None, typer.Option()] = None,
    corpus: Annotated[Path | None, typer.Option()] = None,
    out: Annotated[Path, typer.Option()] = PARAMS_PATH,
) -> None:
    claims, corpus = train_files(claims, corpus)
    gold = load_gold(claims)[RESERVED:]
    index, _ = open_index(convert_scifact(corpus))
    docs: dict[str, tuple[str, str, list[str]]] = {}
    for line in corpus.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            sentences = [str(s) for s in row["abstract"]]
            docs[str(row["doc_id"])] = (row["title"], " ".join(sentences), sentences)
    fit = [e for g in gold[0::2] for e in claim_examples(g, index, docs)]
    held = [e for g in gold[1::2] for e in claim_examples(g, index, docs)]
    x, y = np.array([e[2] for e in fit]), np.array([e[3] for e in fit])
    model = LogisticRegression(C=1.0, max_iter=2000).fit(x, y)
    p_fit = model.predict_proba(x)[:, 1]
    grid = [(round(t, 2), k) for t in np.arange(0.05, 0.7, 0.01) for k in (1, 2, 3)]
    scored = [(sentence_prf(select(fit, p_fit, t, k), y)["f1"], t, k) for t, k in grid]
    _, threshold, per_paper = max(scored)
    xh, yh = np.array([e[2] for e in held]), np.array([e[3] for e in held])
    p_held = model.predict_proba(xh)[:, 1]
    params: dict[str, Any] = {
        "weights": {f: round(float(w), 4) for f, w in zip(FEATURES, model.coef_[0], strict=True)},
        "intercept": round(float(model.intercept_[0]), 4),
        "threshold": threshold,
        "per_paper": per_paper,
        "provenance": {
            "data": {
                "claims": claims.name,
                "sha256": sha256_of(claims),
                "corpus_sha256": sha256_of(corpus),
            },
            "split": f"claims with cited abstracts after the first {RESERVED} (eval research's "
            "reported slice, never used here); even-numbered fit the model and choose "
            "threshold and per_paper, odd-numbered are held out",
            "candidates": f"cited abstracts + the local BM25 top {CANDIDATES} for the goal",
            "examples": example_counts(y.tolist(), yh.tolist()),
            "fit": sentence_prf(select(fit, p_fit, threshold, per_paper), y),
            "held_out": sentence_prf(select(held, p_held, threshold, per_paper), yh),
            "fitted": dt.date.today().isoformat(),
            "script": "python -m sovereign_agents.evals.fit_findings",
        },
    }
    out.write_text(json.dumps(params, indent=2) + "\n")
    print(json.dumps(params, indent=2))


if __name__ == "__main__":
    typer.run(main)
