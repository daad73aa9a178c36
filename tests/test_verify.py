"""The reference verifier's numbers on hand-made pairs."""

from __future__ import annotations

import math

import pytest

from sovereign_agents.verification.cues import cross_support
from sovereign_agents.verification.tfidf import TfidfVerifier


def test_identical_text_scores_one_and_disjoint_text_scores_zero() -> None:
    verifier = TfidfVerifier()
    scores = verifier.scores(
        ["sparse experts reduce inference cost", "graph neural networks"],
        ["sparse experts reduce inference cost", "protein folding with diffusion"],
    )
    assert scores[0] == pytest.approx(1.0)
    assert scores[1] == pytest.approx(0.0)


def test_score_equals_hand_computed_tfidf_cosine() -> None:
    """Two documents, unigrams only, sklearn's smoothed idf, l2 norm: computed by hand."""
    claim, source = "cats chase mice", "cats chase dogs"
    verifier = TfidfVerifier(ngram_range=(1, 1))
    # fitted on [claim, source]: df(cats)=df(chase)=2 -> idf 1; df(mice)=df(dogs)=1 -> idf
    idf_rare = math.log(3 / 2) + 1
    dot = 1 * 1 + 1 * 1
    norm = math.sqrt(1 + 1 + idf_rare**2)
    expected = dot / (norm * norm)
    assert verifier.scores([claim], [source])[0] == pytest.approx(expected, abs=1e-9)


def test_bigrams_raise_the_score_of_shared_phrases() -> None:
    claims, sources = ["the model reduces latency"], ["latency reduces the model"]
    uni = TfidfVerifier(ngram_range=(1, 1)).scores(claims, sources)[0]
    bi = TfidfVerifier(ngram_range=(1, 2)).scores(claims, sources)[0]
    assert uni == pytest.approx(1.0)  # same words
    assert bi < uni  # different word order: no shared bigram


def test_verified_exactly_when_confidence_reaches_threshold() -> None:
    claim, source = "cats chase mice", "cats chase dogs"
    score = round(float(TfidfVerifier(ngram_range=(1, 1)).scores([claim], [source])[0]), 4)
    at = TfidfVerifier(threshold=score, ngram_range=(1, 1)).verify([claim], [source]).verdicts[0]
    above = (
        TfidfVerifier(threshold=score + 1e-4, ngram_range=(1, 1))
        .verify([claim], [source])
        .verdicts[0]
    )
    assert at.verified and at.confidence == score
    assert not above.verified


def test_sources_shared_by_claims_are_vectorised_once() -> None:
    verifier = TfidfVerifier()
    source = "mixture of experts models route tokens to experts"
    scores = verifier.scores(["experts route tokens", "nothing shared here"], [source, source])
    assert scores[0] > 0.3 and scores[1] == 0.0


def test_empty_and_stopword_only_inputs() -> None:
    assert len(TfidfVerifier().scores([], [])) == 0
    assert TfidfVerifier().scores(["the"], ["a"])[0] == 0.0
    with pytest.raises(ValueError):
        TfidfVerifier().scores(["a"], [])


def test_cross_support_ignores_claims_of_the_same_paper() -> None:
    claims = ["experts route tokens", "experts route tokens", "unrelated words entirely"]
    support = cross_support(claims, ["p1", "p1", "p2"])
    assert support.tolist() == [0.0, 0.0, 0.0]
    support = cross_support(claims, ["p1", "p2", "p3"])
    assert support[0] == pytest.approx(1.0) and support[2] == 0.0
