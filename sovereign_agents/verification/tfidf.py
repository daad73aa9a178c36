"""The reference verifier: TF-IDF cosine between a claim and its source.

``TfidfVerifier`` fits one TF-IDF model (word n-grams, default uni+bigrams) on every text of
the run (claims and sources), then scores all pairs at once: the row-wise dot product of two
L2-normalised sparse matrices. A claim is verified exactly when its confidence >= threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sovereign_agents.schemas import Verification
from sovereign_agents.verification.base import Verdicts, VerifierRecord

if TYPE_CHECKING:
    import scipy.sparse as sp


def rowwise_cosine(a: sp.csr_matrix, b: sp.csr_matrix) -> np.ndarray:
    """Cosine of row i of ``a`` with row i of ``b``, for L2-normalised rows."""
    return np.asarray(a.multiply(b).sum(axis=1)).ravel()


@dataclass(frozen=True)
class TfidfVerifier:
    threshold: float = 0.15
    ngram_range: tuple[int, int] = (1, 2)
    name: str = "tfidf"

    def describe(self) -> str:
        lo, hi = self.ngram_range
        grams = {(1, 1): "unigrams", (1, 2): "uni+bigrams"}.get((lo, hi), f"{lo}-{hi}-grams")
        return (
            f"TF-IDF cosine between each claim and its source (title + abstract), word {grams}, "
            f"fitted on the run's texts, threshold={self.threshold} (verified when confidence "
            f">= {self.threshold})"
        )

    def scores(self, claims: Sequence[str], sources: Sequence[str]) -> np.ndarray:
        """Cosine of each claim with its source, for all pairs in one sparse product."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        if len(claims) != len(sources):
            raise ValueError("claims and sources must pair up")
        if not claims:
            return np.zeros(0)
        unique_sources = list(dict.fromkeys(sources))
        position = {text: i for i, text in enumerate(unique_sources)}
        vectorizer = TfidfVectorizer(ngram_range=self.ngram_range, lowercase=True)
        try:
            vectorizer.fit([*claims, *unique_sources])
        except ValueError:  # nothing but stop words / empty texts
            return np.zeros(len(claims))
        claim_m = vectorizer.transform(claims)
        source_m = vectorizer.transform(unique_sources)[[position[s] for s in sources]]
        return np.clip(rowwise_cosine(claim_m, source_m), 0.0, 1.0)

    def verify(self, claims: Sequence[str], sources: Sequence[str]) -> Verdicts:
        return Verdicts(
            [
                Verification(
                    verifier=self.name,
                    confidence=round(float(score), 4),
                    threshold=self.threshold,
                    verified=bool(round(float(score), 4) >= self.threshold),
                )
                for score in self.scores(claims, sources)
            ]
        )

    def record(self) -> VerifierRecord:
        return VerifierRecord(
            name=self.name,
            threshold=self.threshold,
            description=self.describe(),
            ngram_range=list(self.ngram_range),
            stance="not checked",
            caveat=(
                "TF-IDF cosine is lexical overlap, not entailment: a verified claim is worded "
                "like its source, which does not prove the source supports it; stance was "
                "not checked."
            ),
        )
