"""Verification accuracy as pure functions: precision/recall/F1 and reliability bins."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel


class PRF(BaseModel):
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int


def prf(predicted: Sequence[bool], gold: Sequence[bool]) -> PRF:
    """Precision, recall and F1 of the positive class (0.0 where undefined)."""
    if len(predicted) != len(gold):
        raise ValueError("predicted and gold must have the same length")
    tp = sum(1 for p, g in zip(predicted, gold, strict=True) if p and g)
    fp = sum(1 for p, g in zip(predicted, gold, strict=True) if p and not g)
    fn = sum(1 for p, g in zip(predicted, gold, strict=True) if g and not p)
    return prf_counts(tp, fp, fn)


def prf_counts(tp: int, fp: int, fn: int) -> PRF:
    """Precision, recall and F1 from counts (0.0 where undefined)."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PRF(
        precision=round(precision, 4), recall=round(recall, 4), f1=round(f1, 4), tp=tp, fp=fp, fn=fn
    )


class VerificationMetrics(BaseModel):
    pairs: int
    evidence: PRF
    support: PRF
    contradicted_but_verified: float
    expected_calibration_error: float

    def summary(self) -> dict[str, object]:
        """The short form ``eval verify --json`` prints."""
        keys = ("precision", "recall", "f1")
        return {
            "pairs": self.pairs,
            "evidence": {k: getattr(self.evidence, k) for k in keys},
            "support": {k: getattr(self.support, k) for k in keys},
            "contradicted_but_verified": self.contradicted_but_verified,
        }


def verification_metrics(
    labels: Sequence[str],
    evidence_found: Sequence[bool],
    verified: Sequence[bool],
    confidences: Sequence[float],
) -> VerificationMetrics:
    """Metrics of one verifier over gold labels SUPPORT / CONTRADICT / NONE.

    Evidence detection: ``evidence_found`` vs (SUPPORT or CONTRADICT). Support: ``verified``
    vs SUPPORT. ``contradicted_but_verified``: share of CONTRADICT pairs marked verified.
    Calibration: ``confidences`` as the probability that a pair is SUPPORT.
    """
    if not len(labels) == len(evidence_found) == len(verified) == len(confidences):
        raise ValueError("labels and predictions must have the same length")
    contradicted = [v for label, v in zip(labels, verified, strict=True) if label == "CONTRADICT"]
    return VerificationMetrics(
        pairs=len(labels),
        evidence=prf(evidence_found, [label != "NONE" for label in labels]),
        support=prf(verified, [label == "SUPPORT" for label in labels]),
        contradicted_but_verified=(
            round(sum(contradicted) / len(contradicted), 4) if contradicted else 0.0
        ),
        expected_calibration_error=round(
            expected_calibration_error(confidences, [label == "SUPPORT" for label in labels]), 4
        ),
    )


class Bin(BaseModel):
    lo: float
    hi: float
    count: int
    mean_confidence: float
    accuracy: float  # observed share of positives


def reliability_bins(
    confidences: Sequence[float], outcomes: Sequence[bool], n_bins: int = 10
) -> list[Bin]:
    """Equal-width bins over [0, 1]; empty bins are left out. 1.0 falls in the last bin."""
    if len(confidences) != len(outcomes):
        raise ValueError("confidences and outcomes must have the same length")
    if n_bins < 1:
        raise ValueError("n_bins must be >= 1")
    grouped: list[list[tuple[float, bool]]] = [[] for _ in range(n_bins)]
    for c, o in zip(confidences, outcomes, strict=True):
        c = min(max(float(c), 0.0), 1.0)
        grouped[min(int(c * n_bins), n_bins - 1)].append((c, o))
    return [
        Bin(
            lo=i / n_bins,
            hi=(i + 1) / n_bins,
            count=len(items),
            mean_confidence=sum(c for c, _ in items) / len(items),
            accuracy=sum(1 for _, o in items if o) / len(items),
        )
        for i, items in enumerate(grouped)
        if items
    ]


def expected_calibration_error(
    confidences: Sequence[float], outcomes: Sequence[bool], n_bins: int = 10
) -> float:
    """Count-weighted mean |accuracy - confidence| over the reliability bins."""
    bins = reliability_bins(confidences, outcomes, n_bins)
    total = sum(b.count for b in bins)
    if not total:
        return 0.0
    return sum(b.count * abs(b.accuracy - b.mean_confidence) for b in bins) / total
