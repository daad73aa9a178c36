"""Turn a claim into its opposite, for stance training data (``evals/fit_stance``) and, from
stance_v5, for the stance model's second reading of each claim (``hybrid.stance_proba``).

SciFact's contradicted claims are mostly an annotator's negation of a supported one ("X
increases Y" / "X does not increase Y" / "X decreases Y"), and the stance model's weak part is
telling those two apart. ``opposite`` writes that negation for a claim of the fit split, so a
(claim, rationale) pair labelled SUPPORT gives a CONTRADICT pair, and a CONTRADICT pair gives a
SUPPORT one where a clean reversal exists. Three rewrites, first that applies wins:

1. an existing negation is removed ("is not" -> "is", "cannot" -> "can", "does not
   increase" -> "increases", "shows no effect" -> "shows a effect");
2. a direction word is swapped for its antonym, inflection kept ("increases" ->
   "decreases", "higher" -> "lower", "promoted" -> "inhibited"; ``cues.ANTONYM_WORDS``);
3. "not" goes after the first auxiliary or copula ("is" -> "is not", "can" -> "cannot"),
   or "does not" before a known third-person verb ("causes" -> "does not cause").

None when no rewrite applies: a claim is left out rather than turned into noise.
"""

from __future__ import annotations

import re
from functools import lru_cache

from sovereign_agents.verification.cues import ANTONYM_WORDS

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_AUXILIARIES = frozenset(
    ["is", "are", "was", "were", "can", "could", "may", "might", "will", "would", "should", "must"]
)
# lexicon words never swapped: after a copula "not" reverses them cleanly ("is not
# associated", not "is unassociated"); elsewhere they qualify a noun
_PREDICATIVE = frozenset(
    [
        "associated",
        "unassociated",
        "related",
        "unrelated",
        "correlated",
        "uncorrelated",
        "affected",
        "unaffected",
        "dependent",
        "independent",
        "present",
        "absent",
        "required",
    ]
)
_DO = ("does", "do", "did")
# third-person verbs common in claims that take "does not <base>" (base = word minus "s"/"es")
_VERBS = frozenset(
    [
        "affects",
        "alters",
        "binds",
        "blocks",
        "causes",
        "confers",
        "contributes",
        "correlates",
        "depends",
        "drives",
        "exhibits",
        "explains",
        "improves",
        "impairs",
        "increases",
        "decreases",
        "induces",
        "inhibits",
        "leads",
        "mediates",
        "modulates",
        "occurs",
        "plays",
        "predicts",
        "prevents",
        "produces",
        "promotes",
        "protects",
        "reduces",
        "regulates",
        "represses",
        "requires",
        "results",
        "shows",
        "suppresses",
        "triggers",
        "activates",
        "enhances",
        "facilitates",
        "limits",
        "lowers",
        "raises",
        "elevates",
        "attenuates",
        "accelerates",
        "delays",
        "slows",
        "worsens",
        "benefits",
        "harms",
        "influences",
        "controls",
        "determines",
        "enables",
        "interacts",
        "targets",
        "increases",
    ]
)


# lexicon words that are verbs: only these are inflected ("increases" -> "decreases");
# adjectives and nouns are swapped as written ("higher" -> "lower", never "highered")
_VERB_BASES = frozenset(
    [
        "increase",
        "decrease",
        "reduce",
        "enhance",
        "impair",
        "activate",
        "inhibit",
        "promote",
        "suppress",
        "induce",
        "prevent",
        "upregulate",
        "downregulate",
        "improve",
        "worsen",
        "benefit",
        "harm",
        "protect",
        "damage",
        "accelerate",
        "slow",
        "delay",
        "rise",
        "fall",
        "decline",
    ]
)


def _third_person(base: str) -> str:
    return base + ("es" if base.endswith(("s", "sh", "ch", "x")) else "s")


def _past(base: str) -> str:
    return base + ("d" if base.endswith("e") else "ed")


def _inflections(base: str) -> dict[str, str]:
    """{surface form: inflection tag} of a lexicon word; verbs in all four forms."""
    if base not in _VERB_BASES:
        return {base: ""}
    stem_e = base[:-1] if base.endswith("e") else base
    return {base: "", _third_person(base): "s", _past(base): "ed", stem_e + "ing": "ing"}


def _inflect(base: str, tag: str) -> str | None:
    return next((form for form, t in _inflections(base).items() if t == tag), None)


@lru_cache(maxsize=1)
def _antonyms() -> dict[str, str]:
    """Surface form -> its opposite, same inflection (first pair listed wins)."""
    table: dict[str, str] = {}
    for a, b in ANTONYM_WORDS:
        for x, y in ((a, b), (b, a)):
            for form, tag in _inflections(x).items():
                other = _inflect(y, tag)
                if other is not None:
                    table.setdefault(form, other)
    return table


def _keep_case(original: str, new: str) -> str:
    return new[:1].upper() + new[1:] if original[:1].isupper() else new


def _base_of(verb: str) -> str:
    """'causes' -> 'cause', 'reduces' -> 'reduce', 'binds' -> 'bind'."""
    if verb.endswith(("sses", "shes", "ches", "xes")):
        return verb[:-2]
    return verb[:-1]


def _remove_negation(words: list[tuple[int, int, str]], text: str) -> str | None:
    for i, (start, end, word) in enumerate(words):
        low = word.lower()
        if low == "cannot":
            return text[:start] + _keep_case(word, "can") + text[end:]
        if low.endswith("n't"):
            return None
        if low == "no" and i > 0:
            # "shows no significant effect" -> "shows a significant effect"
            return text[:start] + "a" + text[end:]
        if low != "not" or i == 0:
            continue
        prev_start, prev_end, prev = words[i - 1]
        if prev.lower() in _DO and i + 1 < len(words):
            # "does not reduce" -> "reduces", "do not" -> the bare verb, "did not" -> "-ed"
            _, verb_end, verb = words[i + 1]
            form = {"does": _third_person(verb), "do": verb, "did": _past(verb)}[prev.lower()]
            return text[:prev_start] + _keep_case(prev, form) + text[verb_end:]
        return text[:prev_end] + text[end:]
    return None


def _swap_direction(words: list[tuple[int, int, str]], text: str) -> str | None:
    table = _antonyms()
    for i, (start, end, word) in enumerate(words):
        opposite = table.get(word.lower())
        if opposite is None:
            continue
        if word.lower() in _PREDICATIVE:
            continue  # "is associated" -> "is not associated" (below); "mRNAs associated
            # with ..." names a thing, which no swap reverses
        if word.lower() in ("significant", "insignificant") and i and words[i - 1][2] == "no":
            continue
        return text[:start] + _keep_case(word, opposite) + text[end:]
    return None


def _insert_negation(words: list[tuple[int, int, str]], text: str) -> str | None:
    for i, (start, end, word) in enumerate(words):
        low = word.lower()
        if i == 0:
            continue
        if low == "can":
            return text[:start] + "cannot" + text[end:]
        if low in _AUXILIARIES:
            return text[:end] + " not" + text[end:]
        if low in _VERBS:
            return text[:start] + "does not " + _base_of(low) + text[end:]
    return None


def opposite(claim: str) -> str | None:
    """The claim turned into its opposite, or None when no clean rewrite exists."""
    words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(claim)]
    if words and words[0][2].lower() in ("no", "none", "neither"):
        return None  # "No X was found": a "not" more would only double the negation
    for rewrite in (_remove_negation, _swap_direction, _insert_negation):
        out = rewrite(words, claim)
        if out is not None and out != claim:
            return out
    return None
