"""Prompt-sensitivity metrics: pure functions over (condition, repeat) -> (score, verdict).

The first condition is the baseline. ``flip_rate`` and ``threshold_crossing_rate`` compare
every other result with it; ``score_std`` is split into the spread *across* conditions (the
prompt effect) and the spread *within* one condition over repeats (sampling noise), so the two
can be told apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from statistics import fmean, pstdev

from pydantic import BaseModel


class Outcome(BaseModel):
    condition: str
    repeat: int
    score: float
    verdict: str
    policy: str
    rounds: list[float]


class ConditionSummary(BaseModel):
    condition: str
    n: int
    mean: float
    std: float
    min: float
    max: float
    verdicts: dict[str, int]
    policies: dict[str, int]


class SensitivityMetrics(BaseModel):
    baseline: str
    threshold: float
    baseline_verdict: str
    baseline_score: float
    flip_rate: float
    score_std_across_conditions: float
    score_std_within_conditions: float
    threshold_crossing_rate: float
    conditions: list[ConditionSummary]


def by_condition(outcomes: Sequence[Outcome]) -> dict[str, list[Outcome]]:
    grouped: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        grouped.setdefault(outcome.condition, []).append(outcome)
    return grouped


def modal(values: Sequence[str]) -> str:
    """The most common value; ties go to the one seen first."""
    counts = Counter(values)
    best = max(counts.values())
    return next(v for v in values if counts[v] == best)


def flip_rate(outcomes: Sequence[Outcome], baseline: str) -> float:
    """Share of non-baseline results whose verdict differs from the baseline's modal verdict."""
    grouped = by_condition(outcomes)
    reference = modal([o.verdict for o in grouped[baseline]])
    others = [o for o in outcomes if o.condition != baseline]
    return sum(o.verdict != reference for o in others) / len(others) if others else 0.0


def threshold_crossing_rate(outcomes: Sequence[Outcome], baseline: str, threshold: float) -> float:
    """Share of non-baseline results on the other side of ``threshold`` from the baseline."""
    grouped = by_condition(outcomes)
    base_side = fmean(o.score for o in grouped[baseline]) >= threshold
    others = [o for o in outcomes if o.condition != baseline]
    return sum((o.score >= threshold) != base_side for o in others) / len(others) if others else 0.0


def score_std_across(outcomes: Sequence[Outcome]) -> float:
    """Population std of the per-condition mean scores: the prompt effect."""
    means = [fmean(o.score for o in group) for group in by_condition(outcomes).values()]
    return pstdev(means) if len(means) > 1 else 0.0


def score_std_within(outcomes: Sequence[Outcome]) -> float:
    """Mean over conditions of the population std across repeats: sampling noise."""
    stds = [
        pstdev([o.score for o in group]) if len(group) > 1 else 0.0
        for group in by_condition(outcomes).values()
    ]
    return fmean(stds) if stds else 0.0


def summarize(outcomes: Sequence[Outcome], threshold: float) -> SensitivityMetrics:
    if not outcomes:
        raise ValueError("no outcomes to summarise")
    baseline = outcomes[0].condition
    grouped = by_condition(outcomes)
    conditions = [
        ConditionSummary(
            condition=name,
            n=len(group),
            mean=round(fmean(o.score for o in group), 4),
            std=round(pstdev([o.score for o in group]) if len(group) > 1 else 0.0, 4),
            min=min(o.score for o in group),
            max=max(o.score for o in group),
            verdicts=dict(Counter(o.verdict for o in group)),
            policies=dict(Counter(o.policy for o in group)),
        )
        for name, group in grouped.items()
    ]
    return SensitivityMetrics(
        baseline=baseline,
        threshold=threshold,
        baseline_verdict=modal([o.verdict for o in grouped[baseline]]),
        baseline_score=round(fmean(o.score for o in grouped[baseline]), 4),
        flip_rate=round(flip_rate(outcomes, baseline), 4),
        score_std_across_conditions=round(score_std_across(outcomes), 4),
        score_std_within_conditions=round(score_std_within(outcomes), 4),
        threshold_crossing_rate=round(threshold_crossing_rate(outcomes, baseline, threshold), 4),
        conditions=conditions,
    )


def markdown_table(metrics: SensitivityMetrics) -> str:
    lines = [
        f"Baseline `{metrics.baseline}`: {metrics.baseline_score:.2f} -> "
        f"{metrics.baseline_verdict}. flip_rate {metrics.flip_rate:.2f}, "
        f"threshold_crossing_rate {metrics.threshold_crossing_rate:.2f}, score_std across "
        f"conditions {metrics.score_std_across_conditions:.2f} / within (repeats) "
        f"{metrics.score_std_within_conditions:.2f}.",
        "",
        "| condition | n | mean | std | min | max | verdicts | policies |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in metrics.conditions:
        verdicts = ", ".join(f"{k} {v}" for k, v in sorted(c.verdicts.items()))
        policies = ", ".join(f"{k} {v}" for k, v in sorted(c.policies.items()))
        lines.append(
            f"| {c.condition} | {c.n} | {c.mean:.2f} | {c.std:.2f} | {c.min:.2f} | "
            f"{c.max:.2f} | {verdicts} | {policies} |"
        )
    return "\n".join(lines) + "\n"
