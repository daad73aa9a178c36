"""Stance cues on the terms a claim and its evidence share (the stance model's ``alignment``).

Whole-sentence cues (does either text say "increase" or "not") miss *what* goes up or is
negated. Here every content term the two texts share (direction words themselves left out)
gets a local polarity in each text: the up/down direction words within ``WINDOW`` words of it,
flipped when a negation is within the same window. Claim "whole fruits increase the risk of
diabetes" against evidence "fruits ... associated with a lower risk of diabetes": "risk" is up
in the claim and down in the evidence, a conflict on an aligned term. Beside these: null-result
phrasings ("no significant difference", "was not associated with", "unchanged") in either
text, and claim numbers the evidence does not state.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from sovereign_agents.text import analyze, tokens
from sovereign_agents.verification.cues import NEGATIONS, numbers, word_direction

WINDOW = 4  # words either side of a shared term that can carry its direction or negation

NULL_RESULT = re.compile(
    r"\b(?:no|not|nor|without)\s+(?:\w+\s+){0,2}?"
    r"(?:significant(?:ly)?\s+|statistically\s+significant\s+)?"
    r"(?:differ\w*|effect\w*|associat\w*|chang\w*|increas\w*|decreas\w*|reduc\w*|relat\w*|"
    r"correlat\w*|benefit\w*|evidence|impact\w*|influenc\w*|improv\w*|affect\w*|alter\w*|"
    r"predict\w*|role|risk)"
    r"|\bunchanged\b|\bunaffected\b|\bunrelated\b|\bsimilar\b|\bcomparable\b"
    r"|\bindependent(?:ly)?\s+of\b|\bnot\s+significant|\bnonsignificant|\bnon-significant"
    r"|\binsignificant"
)

ALIGNMENT_FEATURES = (
    "aligned_agree",
    "aligned_conflict",
    "aligned_conflict_majority",
    "aligned_agree_majority",
    "aligned_negation_mismatch",
    "claim_null_result",
    "evidence_null_result",
    "null_result_mismatch",
    "claim_numbers_unmatched",
    "shared_term_share",
)


def null_result(text: str) -> bool:
    """The text reports no effect / no difference / no association."""
    return NULL_RESULT.search(text.lower()) is not None


@dataclass(frozen=True)
class _Marked:
    """A text's words: content stems, direction (+1 up, -1 down, 0) and negation of each."""

    terms: list[frozenset[str]]
    direction: list[int]
    negated: list[bool]

    @classmethod
    def of(cls, text: str) -> _Marked:
        words = tokens(text)
        return cls(
            terms=[frozenset(analyze(w)) for w in words],
            direction=[word_direction(w) for w in words],
            negated=[w in NEGATIONS or w.endswith("n't") for w in words],
        )

    def all_terms(self) -> set[str]:
        return set().union(*self.terms) if self.terms else set()

    def direction_terms(self) -> set[str]:
        return {t for terms, d in zip(self.terms, self.direction, strict=True) if d for t in terms}

    def around(self, term: str) -> tuple[float, bool]:
        """(sign of the summed direction around ``term``, negation flipping it; any negation
        near it)."""
        polarity, any_negation = 0, False
        for i, terms in enumerate(self.terms):
            if term not in terms:
                continue
            lo, hi = max(0, i - WINDOW), i + WINDOW + 1
            direction = sum(self.direction[lo:hi])
            negated = any(self.negated[lo:hi])
            polarity += -direction if negated else direction
            any_negation = any_negation or negated
        return (math.copysign(1.0, polarity) if polarity else 0.0), any_negation


def alignment_features(claim: str, evidence: str) -> list[float]:
    """The cues of one (claim, evidence) pair, in ``ALIGNMENT_FEATURES`` order."""
    c, e = _Marked.of(claim), _Marked.of(evidence)
    claim_terms = c.all_terms()
    shared = (claim_terms & e.all_terms()) - c.direction_terms() - e.direction_terms()
    agree = conflict = negation_mismatch = 0
    for term in shared:
        (pc, nc), (pe, ne) = c.around(term), e.around(term)
        if pc and pe:
            agree += pc == pe
            conflict += pc != pe
        negation_mismatch += nc != ne
    k = max(1, len(shared))
    claim_null, evidence_null = null_result(claim), null_result(evidence)
    return [
        agree / k,
        conflict / k,
        float(conflict > agree),
        float(agree > conflict),
        negation_mismatch / k,
        float(claim_null),
        float(evidence_null),
        float(claim_null != evidence_null),
        math.log1p(len(numbers(claim) - numbers(evidence))),
        len(shared) / max(1, len(claim_terms)),
    ]
