"""Verify: (claim, source) pairs scored per second, by the reference TF-IDF verifier (all
pairs in one call) and by the default hybrid verifier (in calls of 50 pairs, a run's size).

Claims are sentences of the corpus's abstracts, each paired with its paper's text, so every
pair is like one a run verifies. Each call fits its vectorisers too, as the graph does.
"""

from __future__ import annotations

from pydantic import BaseModel

from sovereign_agents.bench.measure import timed
from sovereign_agents.schemas import Paper
from sovereign_agents.text import split_sentences
from sovereign_agents.verification.hybrid import HybridVerifier
from sovereign_agents.verification.tfidf import TfidfVerifier


class VerifyBench(BaseModel):
    pairs: int
    seconds: float
    pairs_per_s: float
    mean_confidence: float
    hybrid_pairs: int = 0
    hybrid_seconds: float = 0.0
    hybrid_pairs_per_s: float = 0.0


def verify_pairs(papers: list[Paper], n_pairs: int) -> tuple[list[str], list[str]]:
    claims: list[str] = []
    sources: list[str] = []
    for paper in papers:
        for sentence in split_sentences(paper.abstract)[:3]:
            claims.append(sentence.text)
            sources.append(paper.text)
            if len(claims) >= n_pairs:
                return claims, sources
    return claims, sources


def run_verify_bench(papers: list[Paper], n_pairs: int = 2000, repeats: int = 3) -> VerifyBench:
    claims, sources = verify_pairs(papers, n_pairs)
    verifier = TfidfVerifier()
    best = float("inf")
    scores = None
    for _ in range(max(1, repeats)):
        scores, seconds = timed(lambda: verifier.scores(claims, sources))
        best = min(best, seconds)
    mean = float(scores.mean()) if scores is not None and len(scores) else 0.0
    hybrid_n = min(len(claims), 200)
    hybrid = HybridVerifier()

    def hybrid_all() -> None:
        for start in range(0, hybrid_n, 50):
            hybrid.verify(claims[start : start + 50], sources[start : start + 50])

    _, hybrid_seconds = timed(hybrid_all)
    return VerifyBench(
        pairs=len(claims),
        seconds=round(best, 4),
        pairs_per_s=round(len(claims) / best, 1) if best > 0 else 0.0,
        mean_confidence=round(mean, 4),
        hybrid_pairs=hybrid_n,
        hybrid_seconds=round(hybrid_seconds, 4),
        hybrid_pairs_per_s=round(hybrid_n / hybrid_seconds, 1) if hybrid_seconds > 0 else 0.0,
    )
