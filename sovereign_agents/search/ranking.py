"""The order of scored rows, shared by every ranker over the local index."""

from __future__ import annotations

import numpy as np


def ranked_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` best positive scores, best first, ties by row."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    rows = np.argpartition(-scores, k - 1)[:k]
    rows = rows[np.lexsort((rows, -scores[rows]))]
    return rows[scores[rows] > 0]
