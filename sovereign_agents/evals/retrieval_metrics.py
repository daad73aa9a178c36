"""IR metrics as pure functions (binary relevance, as BEIR scores SciFact)."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence


def dcg_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Discounted cumulative gain of the first ``k`` results: sum of 1 / log2(rank + 1)."""
    return sum(1.0 / math.log2(i + 2) for i, doc in enumerate(ranked[:k]) if doc in relevant)


def ndcg_at_k(ranked: Sequence[str], relevant: Collection[str], k: int = 10) -> float:
    """DCG@k over the DCG@k of the ideal ranking; 0 when nothing is relevant."""
    if k < 1:
        raise ValueError("k must be >= 1")
    ranked = list(dict.fromkeys(ranked))  # a document counts once, at its best rank
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg_at_k(ranked, relevant, k) / ideal if ideal else 0.0


def recall_at_k(ranked: Sequence[str], relevant: Collection[str], k: int = 100) -> float:
    """Share of the relevant documents found in the first ``k`` results; 0 when none exist."""
    if k < 1:
        raise ValueError("k must be >= 1")
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & set(relevant)) / len(set(relevant))


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0
