"""Verification accuracy on SciFact: run a verifier over (claim, cited abstract) pairs.

Pairs are verified in batches of ``batch`` pairs (file order), like a run verifies its
30-60 claims in one call: the verifiers fit their vectorisers on the texts of one call.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sovereign_agents.evals.scifact import Pair
from sovereign_agents.evals.verification_metrics import (
    VerificationMetrics,
    reliability_bins,
    verification_metrics,
)
from sovereign_agents.schemas import Verification
from sovereign_agents.verification import Verifier

logger = logging.getLogger(__name__)
DEFAULT_BATCH = 50


class PairResult(BaseModel):
    claim_id: int
    doc_id: int
    label: str
    verified: bool
    evidence_found: bool
    confidence: float
    stance: str | None = None
    evidence: str | None = None


class VerifyRun(BaseModel):
    verifier: str
    threshold: float
    description: str
    metrics: VerificationMetrics
    pairs_per_second: float
    results: list[PairResult]


def verify_pairs(
    verifier: Verifier, pairs: Sequence[Pair], batch: int = DEFAULT_BATCH
) -> list[Verification]:
    """Every pair's Verification, ``batch`` pairs per verifier call."""
    out: list[Verification] = []
    for start in range(0, len(pairs), max(1, batch)):
        chunk = pairs[start : start + batch]
        out += verifier.verify([p.claim for p in chunk], [p.source for p in chunk]).verdicts
    return out


def evidence_flag(v: Verification) -> bool:
    """Evidence detected: the verifier's own flag, else its verdict (the reference has one)."""
    return v.evidence_found if v.evidence_found is not None else v.verified


def evaluate(verifier: Verifier, pairs: Sequence[Pair], batch: int = DEFAULT_BATCH) -> VerifyRun:
    started = time.perf_counter()
    verdicts = verify_pairs(verifier, pairs, batch)
    seconds = time.perf_counter() - started
    results = [
        PairResult(
            claim_id=p.claim_id,
            doc_id=p.doc_id,
            label=p.label,
            verified=v.verified,
            evidence_found=evidence_flag(v),
            confidence=v.confidence,
            stance=v.stance,
            evidence=v.evidence,
        )
        for p, v in zip(pairs, verdicts, strict=True)
    ]
    return VerifyRun(
        verifier=verifier.name,
        threshold=verifier.threshold,
        description=verifier.record().description,
        metrics=metrics_of(results),
        pairs_per_second=round(len(pairs) / seconds, 1) if seconds > 0 else 0.0,
        results=results,
    )


def metrics_of(results: Sequence[PairResult]) -> VerificationMetrics:
    return verification_metrics(
        [r.label for r in results],
        [r.evidence_found for r in results],
        [r.verified for r in results],
        [r.confidence for r in results],
    )


def write_outputs(run: VerifyRun, out_dir: Path, extra: dict[str, Any] | None = None) -> list[Path]:
    """``verify_metrics.json`` (metrics and per-pair results) and ``calibration.png`` (when
    the plots extra, matplotlib, is installed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics_path = out_dir / "verify_metrics.json"
    payload = {**run.model_dump(mode="json"), **(extra or {})}
    metrics_path.write_text(json.dumps(payload, indent=2) + "\n")
    plot_path = out_dir / "calibration.png"
    if importlib.util.find_spec("matplotlib") is None:
        logger.warning("calibration.png not drawn: pip install -e '.[plots]' for matplotlib")
        return [metrics_path]
    plot_calibration(run, plot_path)
    return [metrics_path, plot_path]


def plot_calibration(run: VerifyRun, path: Path) -> None:
    """Reliability diagram: observed share of SUPPORT pairs per confidence bin.

    Drawn with matplotlib's object API (a ``Figure`` saved to a file): no pyplot, no backend
    switch, so a host process's matplotlib backend and figures are left as they were."""
    from matplotlib.figure import Figure

    confidences = [r.confidence for r in run.results]
    outcomes = [r.label == "SUPPORT" for r in run.results]
    bins = reliability_bins(confidences, outcomes, 10)
    fig = Figure(figsize=(5.5, 6.5))
    ax, hist = fig.subplots(2, 1, gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    ax.plot(
        [b.mean_confidence for b in bins],
        [b.accuracy for b in bins],
        marker="o",
        label=f"{run.verifier} (ECE {run.metrics.expected_calibration_error:.3f})",
    )
    ax.axvline(run.threshold, color="red", linewidth=0.8, label=f"threshold {run.threshold}")
    ax.set_ylabel("observed share of SUPPORT pairs")
    ax.set_title(f"Verifier calibration on {run.metrics.pairs} SciFact pairs")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=8)
    hist.bar(
        [(b.lo + b.hi) / 2 for b in bins],
        [b.count for b in bins],
        width=0.09,
        color="steelblue",
    )
    hist.set_xlabel("confidence")
    hist.set_ylabel("pairs")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
