"""The offline stance model: SUPPORT / CONTRADICT / NOT_ENOUGH_INFO for a claim and its evidence.

A multinomial logistic regression (numpy at run time) on features of the claim and its
evidence: the hybrid's own features (similarities, coverage, numbers, negation, direction) and
stance cues — negation counts and the polarity they flip, up/down direction agreement, antonym
pairs swapped between claim and evidence, hedges, absolute quantifiers, number agreement, words
of the claim the evidence lacks — and, from stance_v3, the alignment cues (``alignment``:
direction and negation on the terms claim and evidence share, null results, unmatched numbers).
stance_v3 reads its cues on the three source sentences most like the claim, title left out
(``alignment_context``); stance_v1/v2 read theirs on the evidence sentence(s) the hybrid found.
stance_v4 reads what v3 reads and was also trained on negated claims (``negate``).
stance_v5 is stance_v4's recipe read twice: each claim as written and its opposite
(``negate.opposite``) against the same source, the opposite's probabilities mixed in with
SUPPORT and CONTRADICT swapped (``with_opposite``, weight ``opposite_weight``; the hybrid's
``stance_proba`` does it), which raised the cross-validated support F1 on the fit split.
Fitted on SciFact train's fit split only (``evals/fit_stance.py``, which now fits stance_v5;
the older ones came from its earlier versions); parameters and provenance ship as JSON in
``verifier_params/stance_v<N>.json``, classes weighted by inverse frequency from v2.
``stance_v2.json`` is the default (``PARAMS_FILE``): stance_v3, v4 and v5 did not meet both
held-out targets (README); the others load by name (``shipped_stance_models``).

The decision: SUPPORT when P(SUPPORT) >= threshold (chosen on the fit split, by cross-validation
grouped by cited document, to bound contradicted-but-verified); otherwise the likelier of
CONTRADICT and NOT_ENOUGH_INFO. So a claim is verified exactly when its stance is SUPPORT.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from sovereign_agents.text import analyze, stem, tokens
from sovereign_agents.verification.alignment import ALIGNMENT_FEATURES, alignment_features
from sovereign_agents.verification.base import StanceModelRecord
from sovereign_agents.verification.cues import ANTONYM_WORDS, directions, negation_count, numbers

# the default; stance_v1.json (older runs name it), stance_v3.json, stance_v4.json and
# stance_v5.json load by name
PARAMS_FILE = "stance_v2.json"
CONTEXT_SENTENCES = 3  # the alignment cues read this many best sentences after the title
LABELS = ("SUPPORT", "CONTRADICT", "NOT_ENOUGH_INFO")

_HEDGES = frozenset(
    stem(w)
    for w in (
        "may",
        "might",
        "could",
        "possibly",
        "possible",
        "potential",
        "potentially",
        "suggest",
        "suggests",
        "likely",
        "unclear",
        "whether",
        "hypothesize",
        "propose",
        "appear",
        "seem",
    )
)
_ABSOLUTES = frozenset(
    ["all", "always", "never", "none", "only", "every", "completely", "entirely", "any", "sole"]
)

STANCE_FEATURES = (
    "claim_negations",
    "evidence_negations",
    "negation_parity_mismatch",
    "claim_up",
    "claim_down",
    "evidence_up",
    "evidence_down",
    "direction_agreement",
    "polarity_agreement",
    "antonym_swaps",
    "antonym_shared",
    "claim_hedges",
    "evidence_hedges",
    "claim_absolutes",
    "evidence_absolutes",
    "absolute_mismatch",
    "claim_numbers",
    "numbers_agree",
    "numbers_disagree",
    "claim_coverage",
    "claim_novel_words",
    "evidence_novel_words",
    "claim_than",
)


@lru_cache(maxsize=1)
def antonym_stems() -> tuple[tuple[str, str], ...]:
    return tuple((stem(a), stem(b)) for a, b in ANTONYM_WORDS)


def _polarity(text: str) -> float:
    up, down = directions(text)
    sign = float(np.sign(up - down))
    return -sign if negation_count(text) % 2 else sign


def stance_features(claim: str, evidence: str) -> list[float]:
    """The stance cues of one (claim, evidence) pair, in ``STANCE_FEATURES`` order."""
    claim_words, evidence_words = tokens(claim), tokens(evidence)
    claim_stems, evidence_stems = set(analyze(claim)), set(analyze(evidence))
    claim_all = {stem(w) for w in claim_words}
    evidence_all = {stem(w) for w in evidence_words}
    cn, en = negation_count(claim), negation_count(evidence)
    cu, cd = directions(claim)
    eu, ed = directions(evidence)
    swaps = shared = 0
    for a, b in antonym_stems():
        for x, y in ((a, b), (b, a)):
            if x in claim_all and y in evidence_all and x not in evidence_all:
                swaps += 1
        if (a in claim_all and a in evidence_all) or (b in claim_all and b in evidence_all):
            shared += 1
    c_numbers, e_numbers = numbers(claim), numbers(evidence)
    c_abs = sum(1 for w in claim_words if w in _ABSOLUTES)
    e_abs = sum(1 for w in evidence_words if w in _ABSOLUTES)
    novel = claim_stems - evidence_stems
    return [
        float(min(cn, 3)),
        float(min(en, 3)),
        float(cn % 2 != en % 2),
        float(min(cu, 3)),
        float(min(cd, 3)),
        float(min(eu, 3)),
        float(min(ed, 3)),
        float(np.sign(cu - cd) * np.sign(eu - ed)),
        _polarity(claim) * _polarity(evidence),
        float(min(swaps, 3)),
        float(min(shared, 3)),
        float(min(sum(1 for w in claim_all if w in _HEDGES), 3)),
        float(min(sum(1 for w in evidence_all if w in _HEDGES), 3)),
        float(min(c_abs, 3)),
        float(min(e_abs, 3)),
        float(bool(c_abs) != bool(e_abs)),
        float(bool(c_numbers)),
        float(bool(c_numbers & e_numbers)),
        float(bool(c_numbers and e_numbers and not c_numbers & e_numbers)),
        len(claim_stems & evidence_stems) / max(1, len(claim_stems)),
        math.log1p(len(novel)),
        math.log1p(len(evidence_stems - claim_stems)),
        float("than" in claim_words),
    ]


@dataclass(frozen=True)
class Multinomial:
    """A fitted multinomial logistic regression on standardised features (numpy only)."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # classes x features
    intercept: np.ndarray  # classes

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Multinomial:
        return cls(
            features=tuple(data["features"]),
            mean=np.asarray(data["mean"], dtype=float),
            scale=np.asarray(data["scale"], dtype=float),
            coef=np.asarray(data["coef"], dtype=float),
            intercept=np.asarray(data["intercept"], dtype=float),
        )

    def to_dict(self) -> dict[str, Any]:
        def r(values: Any) -> Any:
            return np.round(np.asarray(values, dtype=float), 6).tolist()

        return {
            "features": list(self.features),
            "mean": r(self.mean),
            "scale": r(self.scale),
            "coef": r(self.coef),
            "intercept": r(self.intercept),
        }

    def proba(self, matrix: np.ndarray) -> np.ndarray:
        """Class probabilities, one row per pair, columns in ``LABELS`` order."""
        z = (matrix - self.mean) / self.scale @ self.coef.T + self.intercept
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return np.asarray(e / e.sum(axis=1, keepdims=True))


def with_opposite(
    proba: np.ndarray, opposite_proba: np.ndarray, rows: Sequence[int], weight: float
) -> np.ndarray:
    """``proba`` mixed, on ``rows``, with the probabilities of those claims' opposites
    (``negate.opposite``), SUPPORT and CONTRADICT swapped: evidence supporting "X does not
    increase Y" contradicts "X increases Y". ``opposite_proba`` has one row per entry of
    ``rows``; the other rows (claims with no clean opposite) keep their own."""
    out = np.array(proba, dtype=float)
    if weight and len(rows):
        index = np.asarray(rows, dtype=int)
        swapped = np.asarray(opposite_proba)[:, [1, 0, 2]]
        out[index] = (1.0 - weight) * out[index] + weight * swapped
    return out


@dataclass(frozen=True)
class StanceModel:
    model: Multinomial
    threshold: float
    name: str = "stance_v1"
    provenance: dict[str, Any] = field(default_factory=dict)
    # from stance_v5: the share of each claim's probabilities taken from its opposite's
    # (``with_opposite``); 0 for the older models
    opposite_weight: float = 0.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StanceModel:
        return cls(
            model=Multinomial.from_dict(data["model"]),
            threshold=float(data["threshold"]),
            name=str(data.get("version", "stance_v1")),
            provenance=dict(data.get("provenance", {})),
            opposite_weight=float(data.get("opposite_weight", 0.0)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.name,
            "labels": list(LABELS),
            "model": self.model.to_dict(),
            "threshold": self.threshold,
            **({"opposite_weight": self.opposite_weight} if self.opposite_weight else {}),
            "provenance": self.provenance,
        }

    @property
    def aligned(self) -> bool:
        """The model reads the alignment cues, and all its cues on ``alignment_context``
        (stance_v3 on); older ones read the stance cues on the hybrid's evidence."""
        return ALIGNMENT_FEATURES[0] in self.model.features

    @property
    def held_out_accuracy(self) -> float | None:
        value = self.provenance.get("metrics", {}).get("held_out", {}).get("accuracy")
        return None if value is None else float(value)

    def describe(self) -> str:
        accuracy = self.held_out_accuracy
        held = f"held-out 3-way accuracy {accuracy:.2f}" if accuracy is not None else "unmeasured"
        return f"stance model {self.name} ({held})"

    def record(self) -> StanceModelRecord:
        return StanceModelRecord(
            name=self.name,
            file=f"{self.name}.json",
            fitted=self.provenance.get("date"),
            threshold=self.threshold,
            held_out=self.provenance.get("metrics", {}).get("held_out"),
        )

    def decide(self, proba: np.ndarray, threshold: float | None = None) -> list[str]:
        """Labels: SUPPORT at P(SUPPORT) >= threshold (the model's own unless given), else
        the likelier of the other two."""
        threshold = self.threshold if threshold is None else threshold
        out = []
        for p in proba:
            if p[0] >= threshold:
                out.append(LABELS[0])
            else:
                out.append(LABELS[1] if p[1] >= p[2] else LABELS[2])
        return out


def alignment_context(evidence: Sequence[str], body: Sequence[tuple[str, float]]) -> str:
    """What the alignment cues read: the ``CONTEXT_SENTENCES`` sentences of the source most
    similar to the claim, its title left out (a title names the topic, rarely the finding);
    the hybrid's evidence when the source is one sentence."""
    chosen = [text for text, _ in body[:CONTEXT_SENTENCES]] or list(evidence)
    return " … ".join(chosen)


def feature_rows(
    claims: Sequence[str], texts: Sequence[str], base: np.ndarray, aligned: bool = False
) -> np.ndarray:
    """The model's input: the hybrid's features of each pair beside the stance cues of claim and
    ``texts`` and, when ``aligned``, the alignment cues too. Older models (not aligned) read the
    hybrid's evidence; stance_v3 on read ``alignment_context``."""
    width = len(STANCE_FEATURES) + (len(ALIGNMENT_FEATURES) if aligned else 0)
    cues = np.asarray(
        [
            stance_features(c, t) + (alignment_features(c, t) if aligned else [])
            for c, t in zip(claims, texts, strict=True)
        ],
        dtype=float,
    ).reshape(len(claims), width)
    return np.hstack([base, cues])


def shipped_stance_models() -> list[str]:
    """Names of the stance models in the package (``stance_v1``, ``stance_v2``, ...)."""
    folder = resources.files("sovereign_agents").joinpath("verifier_params")
    return sorted(
        f.name.removesuffix(".json")
        for f in folder.iterdir()
        if f.name.startswith("stance_v") and f.name.endswith(".json")
    )


@lru_cache(maxsize=4)
def load_stance_model(name: str = PARAMS_FILE) -> StanceModel:
    """The shipped parameters (``sovereign_agents/verifier_params/<name>``)."""
    text = resources.files("sovereign_agents").joinpath("verifier_params", name).read_text()
    return StanceModel.from_dict(json.loads(text))
