"""The hybrid verifier: find the evidence sentence, then a fitted logistic model's probability.

For each claim and its source (title + abstract) it splits the source into sentences and
scores every sentence by lexical (stemmed word uni+bigram TF-IDF), character n-gram and
semantic (LSA over the same texts) cosine. From the best sentences it computes features: those
similarities, IDF-weighted term coverage, number match, and negation / direction mismatch.
Two logistic regressions, fitted on SciFact train (``evals/fit_hybrid.py``; the parameters and
their provenance ship in ``verifier_params/hybrid_v1.json``), give

* ``p_evidence``: the source holds evidence about the claim (SUPPORT or CONTRADICT);
* ``p_support``: ``p_evidence`` x P(support | evidence), the confidence of the verdict.

By default a fitted 3-way stance model (``stance_model``, ``verifier_params/stance_v2.json``)
replaces the second regression: it labels each claim against the evidence found
SUPPORT / CONTRADICT / NOT_ENOUGH_INFO and its P(SUPPORT) is the confidence; a model with an
``opposite_weight`` (stance_v5, by name) also reads each claim's opposite (``stance_proba``).
A claim is verified exactly when its confidence >= threshold (chosen on the fit split).
The vectorisers are fitted on the texts of one call, like the reference verifier.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from itertools import pairwise
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from sovereign_agents.schemas import Stance, Verification
from sovereign_agents.text import analyze, split_sentences
from sovereign_agents.verification.base import (
    FittedParams,
    Verdicts,
    VerifierRecord,
)
from sovereign_agents.verification.cues import direction_conflict, directions, is_negated, numbers
from sovereign_agents.verification.negate import opposite
from sovereign_agents.verification.stance_model import (
    StanceModel,
    alignment_context,
    feature_rows,
    load_stance_model,
    with_opposite,
)

if TYPE_CHECKING:
    import scipy.sparse as sp

PARAMS_FILE = "hybrid_v1.json"
LSA_DIM = 64

FEATURES = (
    "word_max",
    "char_max",
    "lsa_max",
    "combo_max",
    "combo_top2",
    "combo_margin",
    "coverage_best",
    "coverage_top2",
    "coverage_source",
    "doc_word_cos",
    "claim_has_numbers",
    "numbers_found",
    "number_mismatch",
    "claim_negated",
    "evidence_negated",
    "negation_mismatch",
    "direction_conflict",
    "direction_conflict_top2",
    "claim_direction",
    "evidence_direction",
    "claim_length",
)


def word_grams(text: str) -> list[str]:
    """Stemmed content words and their adjacent pairs."""
    words = analyze(text)
    return words + [f"{a} {b}" for a, b in pairwise(words)]


@dataclass
class Scored:
    """Features of one (claim, source) pair and the source's best sentences."""

    features: np.ndarray
    evidence: list[str]
    # the source's sentences after its first (the title), best first, with their similarity
    body: list[tuple[str, float]] = field(default_factory=list)


def lsa_vectors(matrix: sp.csr_matrix, dim: int) -> np.ndarray:
    """Rows in a ``dim``-d latent semantic space, L2-normalised.

    The truncated SVD of the (texts x terms) TF-IDF matrix, computed from the eigenvectors of
    the small (texts x texts) Gram matrix: exact, and fast when there are fewer texts than terms.
    """
    n_texts, n_terms = matrix.shape
    k = min(dim, n_texts - 1, n_terms - 1)
    if k < 2:
        return np.zeros((n_texts, 1))
    gram = np.asarray((matrix @ matrix.T).toarray(), dtype=float)
    # BLAS runs with whatever threads the host process configured: a guest never changes that
    # process-wide setting (see README, "A guest in your process")
    values, vectors = np.linalg.eigh(gram)
    top = np.argsort(values)[::-1][:k]
    lsa = vectors[:, top] * np.sqrt(np.clip(values[top], 0.0, None))
    norms = np.linalg.norm(lsa, axis=1, keepdims=True)
    return np.divide(lsa, norms, out=np.zeros_like(lsa), where=norms > 0)


def _sign(counts: tuple[int, int]) -> float:
    up, down = counts
    return float(np.sign(up - down))


def _rows_cos(a: sp.csr_matrix, b: sp.csr_matrix) -> np.ndarray:
    return np.asarray((b @ a.T).toarray()).ravel() if a.shape[1] else np.zeros(b.shape[0])


def pair_features(claims: Sequence[str], sources: Sequence[str]) -> list[Scored]:
    """Features of every pair, the vectorisers fitted once on all texts of the call."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer

    if len(claims) != len(sources):
        raise ValueError("claims and sources must pair up")
    if not claims:
        return []
    unique_sources = list(dict.fromkeys(sources))
    split = {s: [x.text for x in split_sentences(s)] or [s] for s in unique_sources}
    sentences = list(dict.fromkeys(t for s in unique_sources for t in split[s]))
    row = {t: i for i, t in enumerate(sentences)}
    texts = [*claims, *sentences]
    word = TfidfVectorizer(analyzer=word_grams, sublinear_tf=True)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    try:
        word_all = word.fit_transform(texts).tocsr()
    except ValueError:  # no content word anywhere
        word_all = sp.csr_matrix((len(texts), 0))
    char_all = char.fit_transform([t.lower() for t in texts]).tocsr()
    lsa = lsa_vectors(word_all, LSA_DIM)
    n = len(claims)
    idf = (
        dict(zip(word.get_feature_names_out(), word.idf_, strict=True)) if word_all.shape[1] else {}
    )
    source_word = word.transform(unique_sources) if word_all.shape[1] else None
    source_row = {s: i for i, s in enumerate(unique_sources)}
    out: list[Scored] = []
    for i, (claim, source) in enumerate(zip(claims, sources, strict=True)):
        idx = [n + row[t] for t in split[source]]
        w = _rows_cos(word_all[i], word_all[idx])
        c = _rows_cos(char_all[i], char_all[idx])
        s = lsa[idx] @ lsa[i]
        combo = (w + c + np.clip(s, 0, 1)) / 3
        order = np.argsort(-combo)
        best = split[source][order[0]]
        top2 = [split[source][j] for j in order[:2]]
        terms = set(analyze(claim))
        weight = sum(idf.get(t, 1.0) for t in terms) or 1.0

        def coverage(text: str, terms: set[str] = terms, weight: float = weight) -> float:
            present = set(analyze(text))
            return sum(idf.get(t, 1.0) for t in terms & present) / weight

        claim_numbers = numbers(claim)
        doc_cos = (
            float((source_word[source_row[source]] @ word_all[i].T).toarray()[0, 0])
            if source_word is not None
            else 0.0
        )
        best_numbers = numbers(best)
        features = [
            float(w.max()),
            float(c.max()),
            float(np.clip(s, 0, 1).max()),
            float(combo[order[0]]),
            float(combo[order[:2]].mean()),
            float(combo[order[0]] - combo.mean()),
            coverage(best),
            coverage(" ".join(top2)),
            coverage(source),
            doc_cos,
            float(bool(claim_numbers)),
            (len(claim_numbers & numbers(source)) / len(claim_numbers)) if claim_numbers else 0.0,
            float(bool(claim_numbers and best_numbers and not claim_numbers & best_numbers)),
            float(is_negated(claim)),
            float(is_negated(best)),
            float(is_negated(claim) != is_negated(best)),
            float(direction_conflict(claim, best)),
            float(direction_conflict(claim, " ".join(top2))),
            _sign(directions(claim)),
            _sign(directions(best)),
            math.log1p(len(terms)),
        ]
        out.append(
            Scored(
                np.asarray(features),
                top2
                if combo[order[1:2]].size and combo[order[1]] >= 0.9 * combo[order[0]]
                else [best],
                [(split[source][j], float(combo[j])) for j in order if j != 0],
            )
        )
    return out


def stance_rows(stance: StanceModel, claims: Sequence[str], scored: Sequence[Scored]) -> np.ndarray:
    """The stance model's input rows for pairs the hybrid scored: its cues read on
    ``alignment_context`` (stance_v3 on) or on the hybrid's evidence (older models)."""
    texts = [
        alignment_context(s.evidence, s.body) if stance.aligned else " … ".join(s.evidence)
        for s in scored
    ]
    return feature_rows(claims, texts, np.vstack([s.features for s in scored]), stance.aligned)


def stance_proba(
    stance: StanceModel, claims: Sequence[str], sources: Sequence[str], scored: Sequence[Scored]
) -> np.ndarray:
    """The stance model's class probabilities of each pair; from stance_v5 mixed with those
    of the claim's opposite against the same source, SUPPORT and CONTRADICT swapped
    (``with_opposite``): a claim is judged twice, once as written and once reversed, which
    the cross-validation on the fit split found to separate SUPPORT from CONTRADICT better
    than one reading. The opposites are scored in one call of their own."""
    proba = stance.model.proba(stance_rows(stance, claims, scored))
    if not stance.opposite_weight:
        return proba
    reversed_ = [opposite(c) for c in claims]
    rows = [i for i, o in enumerate(reversed_) if o is not None]
    if not rows:
        return proba
    turned = [cast(str, reversed_[i]) for i in rows]
    turned_scored = pair_features(turned, [sources[i] for i in rows])
    opposite_proba = stance.model.proba(stance_rows(stance, turned, turned_scored))
    return with_opposite(proba, opposite_proba, rows, stance.opposite_weight)


@dataclass(frozen=True)
class Logistic:
    """A fitted logistic regression on standardised features (numpy only at run time)."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Logistic:
        return cls(
            features=tuple(data["features"]),
            mean=np.asarray(data["mean"], dtype=float),
            scale=np.asarray(data["scale"], dtype=float),
            coef=np.asarray(data["coef"], dtype=float),
            intercept=float(data["intercept"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": [round(float(x), 6) for x in self.mean],
            "scale": [round(float(x), 6) for x in self.scale],
            "coef": [round(float(x), 6) for x in self.coef],
            "intercept": round(float(self.intercept), 6),
        }

    def proba(self, matrix: np.ndarray) -> np.ndarray:
        columns = [FEATURES.index(f) for f in self.features]
        z = (matrix[:, columns] - self.mean) / self.scale
        return np.asarray(1.0 / (1.0 + np.exp(-(z @ self.coef + self.intercept))))


@dataclass(frozen=True)
class HybridParams:
    evidence: Logistic
    stance: Logistic
    evidence_threshold: float
    threshold: float
    provenance: dict[str, Any] = field(default_factory=dict)
    file: str = PARAMS_FILE  # where it was loaded from (verifier_params/<file>)

    @classmethod
    def from_dict(cls, data: dict[str, Any], file: str = PARAMS_FILE) -> HybridParams:
        return cls(
            evidence=Logistic.from_dict(data["evidence"]),
            stance=Logistic.from_dict(data["stance"]),
            evidence_threshold=float(data["evidence_threshold"]),
            threshold=float(data["threshold"]),
            provenance=dict(data.get("provenance", {})),
            file=file,
        )

    def record(self) -> FittedParams:
        prov = self.provenance
        return FittedParams(
            file=self.file,
            fitted=prov.get("date"),
            data_sha256=prov.get("data", {}).get("claims_sha256"),
            evidence_threshold=self.evidence_threshold,
            held_out=prov.get("metrics", {}).get("held_out"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": "hybrid_v1",
            "evidence": self.evidence.to_dict(),
            "stance": self.stance.to_dict(),
            "evidence_threshold": self.evidence_threshold,
            "threshold": self.threshold,
            "provenance": self.provenance,
        }


@lru_cache(maxsize=4)
def load_params(name: str = PARAMS_FILE) -> HybridParams:
    """The shipped parameters (``sovereign_agents/verifier_params/<name>``)."""
    text = resources.files("sovereign_agents").joinpath("verifier_params", name).read_text()
    return HybridParams.from_dict(json.loads(text), file=name)


def _default_stance() -> StanceModel:
    return load_stance_model()


@dataclass(frozen=True)
class HybridVerifier:
    """P(evidence) from the evidence regression; stance and confidence from the 3-way stance
    model (``stance_model``): confidence = P(SUPPORT), verified exactly when it reaches the
    threshold, which is when the stance is SUPPORT. A CONTRADICT where the evidence regression
    found no evidence is NOT_ENOUGH_INFO (the evidence model is the better judge of that). With ``stance=None``, the two-stage
    hybrid_v1 alone (confidence = P(evidence) x P(support | evidence), no stance label)."""

    params: HybridParams = field(default_factory=load_params)
    threshold_override: float | None = None
    name: str = "hybrid"
    stance: StanceModel | None = field(default_factory=_default_stance)

    @property
    def threshold(self) -> float:
        if self.threshold_override is not None:
            return self.threshold_override
        return self.stance.threshold if self.stance is not None else self.params.threshold

    def describe(self) -> str:
        prov = self.params.provenance
        fitted = prov.get("fit", {})
        return (
            "hybrid: each claim's evidence sentence(s) found in its source (title + abstract) by "
            "lexical (stemmed word uni+bigram TF-IDF), character n-gram and semantic (LSA) "
            "cosine; with term coverage, number match and negation/direction mismatch as "
            "features, two logistic regressions fitted on SciFact train "
            f"({fitted.get('pairs', '?')} pairs, {prov.get('date', '?')}) give P(evidence)"
            + (
                f"; the {self.stance.describe()} labels each claim against that evidence "
                "SUPPORT / CONTRADICT / NOT_ENOUGH_INFO from negation, direction, antonym, "
                "hedge, quantifier and number cues, confidence = P(SUPPORT)"
                if self.stance is not None
                else " and P(support) = confidence"
            )
            + f"; threshold={self.threshold} (verified when confidence >= {self.threshold})"
        )

    def record(self) -> VerifierRecord:
        stance = self.stance
        return VerifierRecord(
            name=self.name,
            threshold=self.threshold,
            description=self.describe(),
            params=self.params.record(),
            stance_model=stance.record() if stance is not None else None,
            stance=stance.describe() if stance is not None else "not checked",
            caveat=(
                "Stance was not checked (no chat model for the entailment judge, no "
                "stance model): the hybrid verifier finds the evidence sentence and "
                "scores it with lexical, semantic and negation/number cues fitted on "
                "SciFact (biomedical claims), which catch few contradictions; a verified "
                "claim may be contradicted by its source."
            ),
        )

    def probabilities(
        self, claims: Sequence[str], sources: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray, list[Scored], np.ndarray | None]:
        """(p_evidence, p_support, scored pairs, stance class probabilities or None)."""
        scored = pair_features(claims, sources)
        if not scored:
            return np.zeros(0), np.zeros(0), [], None
        matrix = np.vstack([s.features for s in scored])
        p_evidence = self.params.evidence.proba(matrix)
        if self.stance is None:
            return p_evidence, p_evidence * self.params.stance.proba(matrix), scored, None
        proba = stance_proba(self.stance, claims, sources, scored)
        return p_evidence, proba[:, 0], scored, proba

    def scores(self, claims: Sequence[str], sources: Sequence[str]) -> np.ndarray:
        return self.probabilities(claims, sources)[1]

    def verify(self, claims: Sequence[str], sources: Sequence[str]) -> Verdicts:
        p_evidence, p_support, scored, proba = self.probabilities(claims, sources)
        labels: list[str | None] = [None] * len(scored)
        if proba is not None and self.stance is not None:
            # rounded as the confidence is, so verified == (stance is SUPPORT) exactly
            rounded = proba.copy()
            rounded[:, 0] = np.round(rounded[:, 0], 4)
            labels = list(self.stance.decide(rounded, self.threshold))
        out = []
        for i, (pe, ps, s) in enumerate(zip(p_evidence, p_support, scored, strict=True)):
            found = bool(pe >= self.params.evidence_threshold)
            if labels[i] == "CONTRADICT" and not found:
                labels[i] = "NOT_ENOUGH_INFO"  # no evidence found: nothing to contradict with
            confidence = round(float(ps), 4)
            values = dict(zip(FEATURES, s.features.tolist(), strict=True))
            stance_signals = (
                {"p_contradict": round(float(proba[i, 1]), 4)} if proba is not None else {}
            )
            out.append(
                Verification(
                    verifier=self.name,
                    confidence=confidence,
                    threshold=self.threshold,
                    verified=confidence >= self.threshold,
                    evidence=" … ".join(s.evidence),
                    evidence_found=found,
                    stance=cast(Stance | None, labels[i]),
                    stance_by=self.stance.name if labels[i] is not None and self.stance else None,
                    signals={
                        **stance_signals,
                        "p_evidence": round(float(pe), 4),
                        "lexical": round(values["word_max"], 4),
                        "semantic": round(values["lsa_max"], 4),
                        "negation_mismatch": values["negation_mismatch"],
                        "number_mismatch": values["number_mismatch"],
                        "direction_conflict": values["direction_conflict"],
                    },
                )
            )
        return Verdicts(out)
