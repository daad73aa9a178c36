"""Cheap stance cues between two texts: negation, direction words, numbers; and the TF-IDF
similarity of claims across papers (``cross_support``, ``opposing_claims``).

Used as features by the hybrid verifier and to flag claims of different papers that oppose
each other. They are cues, not entailment: a judge model checks stance when one is configured.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sovereign_agents.schemas import Claim
from sovereign_agents.text import tokens

if TYPE_CHECKING:
    import numpy as np

NEGATIONS = frozenset(
    [
        "not",
        "no",
        "never",
        "none",
        "neither",
        "nor",
        "without",
        "cannot",
        "lack",
        "lacks",
        "lacking",
        "absent",
        "absence",
        "fail",
        "fails",
        "failed",
        "unable",
        "unaffected",
        "unrelated",
        "independent",
        "ineffective",
        "insignificant",
        "nonsignificant",
        "non-significant",
    ]
)
_NEGATED_SUFFIX = ("n't",)

# word prefixes that say a quantity goes up, or down
_UP = (
    "increas",
    "higher",
    "elevat",
    "enhanc",
    "promot",
    "activat",
    "upregulat",
    "up-regulat",
    "induc",
    "improv",
    "rais",
    "stimulat",
    "greater",
    "more",
    "gain",
    "accelerat",
    "augment",
    "exacerbat",
    "positiv",
    "rise",
    "risen",
    "rising",
    "protect",
    "benefi",
    "effective",
)
_DOWN = (
    "decreas",
    "lower",
    "reduc",
    "inhibit",
    "suppress",
    "downregulat",
    "down-regulat",
    "impair",
    "diminish",
    "attenuat",
    "declin",
    "less",
    "fewer",
    "loss",
    "worsen",
    "block",
    "prevent",
    "slow",
    "abolish",
    "deplet",
    "negativ",
    "harm",
    "ineffective",
    "detriment",
)
# opposite words: the stance cues count claim/evidence swaps of them (``stance_model``),
# the claim negator (``negate``) rewrites a claim with them
ANTONYM_WORDS = (
    ("increase", "decrease"),
    ("increase", "reduce"),
    ("higher", "lower"),
    ("high", "low"),
    ("more", "less"),
    ("more", "fewer"),
    ("greater", "smaller"),
    ("larger", "smaller"),
    ("positive", "negative"),
    ("positively", "negatively"),
    ("enhance", "impair"),
    ("enhance", "reduce"),
    ("activate", "inhibit"),
    ("activation", "inhibition"),
    ("promote", "suppress"),
    ("promote", "inhibit"),
    ("induce", "inhibit"),
    ("induce", "prevent"),
    ("upregulate", "downregulate"),
    ("upregulation", "downregulation"),
    ("improve", "worsen"),
    ("improve", "impair"),
    ("benefit", "harm"),
    ("beneficial", "harmful"),
    ("protective", "harmful"),
    ("protect", "damage"),
    ("effective", "ineffective"),
    ("efficient", "inefficient"),
    ("gain", "loss"),
    ("accelerate", "slow"),
    ("accelerate", "delay"),
    ("fast", "slow"),
    ("early", "late"),
    ("before", "after"),
    ("long", "short"),
    ("strong", "weak"),
    ("stable", "unstable"),
    ("safe", "unsafe"),
    ("significant", "insignificant"),
    ("significant", "nonsignificant"),
    ("likely", "unlikely"),
    ("elevated", "reduced"),
    ("presence", "absence"),
    ("present", "absent"),
    ("sufficient", "insufficient"),
    ("necessary", "dispensable"),
    ("required", "dispensable"),
    ("susceptible", "resistant"),
    ("sensitive", "resistant"),
    ("agonist", "antagonist"),
    ("overexpression", "knockdown"),
    ("dominant", "recessive"),
    ("maximum", "minimum"),
    ("above", "below"),
    ("older", "younger"),
    ("common", "rare"),
    ("majority", "minority"),
    ("major", "minor"),
    ("frequent", "infrequent"),
    ("decreased", "unchanged"),
    ("increased", "unchanged"),
    ("correlated", "uncorrelated"),
    ("associated", "unassociated"),
    ("dependent", "independent"),
    ("related", "unrelated"),
    ("affected", "unaffected"),
    ("able", "unable"),
    ("success", "failure"),
    ("successful", "unsuccessful"),
    ("rise", "fall"),
    ("increase", "decline"),
    ("survival", "death"),
    ("alive", "dead"),
    ("hyper", "hypo"),
)
_NUMBER = re.compile(r"(?<![A-Za-z])\d+(?:[.,]\d+)?")


def negation_count(text: str) -> int:
    lowered = text.lower()
    words = tokens(lowered)
    return sum(1 for w in words if w in NEGATIONS) + sum(lowered.count(s) for s in _NEGATED_SUFFIX)


def is_negated(text: str) -> bool:
    return negation_count(text) % 2 == 1


def word_direction(word: str) -> int:
    """+1 for a (lower-case) word saying up, -1 for one saying down, else 0."""
    if word.startswith(_UP):
        return 1
    return -1 if word.startswith(_DOWN) else 0


def directions(text: str) -> tuple[int, int]:
    """(words saying up, words saying down) in ``text``."""
    words = tokens(text)
    up = sum(1 for w in words if w.startswith(_UP))
    down = sum(1 for w in words if w.startswith(_DOWN))
    return up, down


def direction_conflict(a: str, b: str) -> bool:
    """One text says only 'up' where the other says only 'down'."""
    (au, ad), (bu, bd) = directions(a), directions(b)
    return bool((au and not ad and bd and not bu) or (ad and not au and bu and not bd))


def numbers(text: str) -> set[str]:
    """Numbers written in ``text``, normalised (1,5 -> 1.5; 2.50 -> 2.5)."""
    out = set()
    for match in _NUMBER.findall(text):
        value = match.replace(",", ".")
        if "." in value:
            value = value.rstrip("0").rstrip(".")
        out.add(value)
    return out


def number_mismatch(a: str, b: str) -> bool:
    """Both texts state numbers and share none."""
    na, nb = numbers(a), numbers(b)
    return bool(na and nb and not na & nb)


def opposition_cues(a: str, b: str) -> list[str]:
    """The cues by which ``a`` and ``b`` (already similar in topic) may oppose each other."""
    cues = []
    if is_negated(a) != is_negated(b):
        cues.append("negation")
    if direction_conflict(a, b):
        cues.append("direction")
    if number_mismatch(a, b):
        cues.append("numbers")
    return cues


def cross_support(claims: Sequence[str], papers: Sequence[str]) -> np.ndarray:
    """For each claim, its best TF-IDF cosine with a claim from a *different* paper.

    A signal beside verification (never instead of it): a claim no other paper echoes is
    single-source.
    """
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    n = len(claims)
    if n < 2:
        return np.zeros(n)
    try:
        matrix = TfidfVectorizer(ngram_range=(1, 2), stop_words="english").fit_transform(claims)
    except ValueError:
        return np.zeros(n)
    similarity = (matrix @ matrix.T).toarray()
    paper_ids = np.asarray(papers)
    similarity[paper_ids[:, None] == paper_ids[None, :]] = 0.0
    return similarity.max(axis=1)


OPPOSING_SIMILARITY = 0.3  # TF-IDF cosine above which two claims are on the same topic


def opposing_claims(
    claims: Sequence[Claim], min_similarity: float = OPPOSING_SIMILARITY
) -> list[tuple[Claim, Claim, list[str]]]:
    """Pairs of claims from different papers, on the same topic (TF-IDF cosine >=
    ``min_similarity``), whose wording opposes: negation, up/down direction, or numbers."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if len(claims) < 2:
        return []
    try:
        matrix = TfidfVectorizer(ngram_range=(1, 2), stop_words="english").fit_transform(
            [c.text for c in claims]
        )
    except ValueError:
        return []
    similarity = (matrix @ matrix.T).toarray()
    out = []
    for i, a in enumerate(claims):
        for j in range(i + 1, len(claims)):
            b = claims[j]
            if a.paper_id == b.paper_id or similarity[i, j] < min_similarity:
                continue
            cues = opposition_cues(a.text, b.text)
            if cues:
                out.append((a, b, cues))
    return out
