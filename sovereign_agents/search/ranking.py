"""The order of scored rows, shared by every ranker over the local index."""

from __future__ import annotations

import numpy as np


def ranked_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` best positive scores, best first, ties by row: also at the cut, where
    the rows that tie with the ``k``-th score are taken lowest first (a partition alone would
    take any of them)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    kth = np.partition(scores, len(scores) - k)[len(scores) - k]
    rows = np.flatnonzero(scores >= kth) if kth > 0 else np.flatnonzero(scores > 0)
    return rows[np.lexsort((rows, -scores[rows]))][:k]
