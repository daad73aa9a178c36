"""Does a claim bear on the goal? Features of a claim against the goal's concepts, and a
logistic model over them fitted on SciFact train (``evals/fit_relevance.py``).

A researcher reading a claim asks two things: is its paper about what the goal is about
(the goal's *core* concepts, in the claim or its paper's title and abstract), and does the
sentence itself speak to what the goal asks (its *ask* and *aspect* concepts, a number or a
comparison where a quantity is asked)? Word overlap with the goal is not enough: "reported"
or "measured" in a claim says nothing about the goal.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from sovereign_agents.goal import QUANTITY_HEADS, Concept, GoalAnalysis, present_terms

PARAMS_FILE = "relevance_v1.json"
FEATURES = ("core_claim", "core_paper", "aspect_claim", "ask_answered", "finding", "background")

NUMBER = re.compile(
    r"\d+(?:\.\d+)?\s?(?:%|x\b|×|-?fold|points?\b|pp\b|ms\b|s\b|tokens?/s)|\d+\.\d+|\b\d{2,}\b"
)
COMPARISON = re.compile(
    r"\b(outperform\w*|better|worse|higher|lower|faster|slower|fewer|more than|less than|"
    r"compared (?:to|with)|over|than|surpass\w*|exceed\w*|match\w*|comparable|on par|"
    r"increas\w*|decreas\w*|reduc\w*|improv\w*|degrad\w*|gain\w*|speedup|drop\w*)\b",
    re.I,
)
METRIC = re.compile(
    r"\b(measured|metric\w*|benchmark\w*|evaluat\w*|score\w*|rate\w*|accuracy|f1|auc|"
    r"precision|recall|bleu|rouge|exact match|percentage|human (?:evaluation|judg\w*))\b",
    re.I,
)
RESULT = re.compile(
    r"\b(achiev\w*|outperform\w*|improv\w*|reduc\w*|increas\w*|surpass\w*|show\w*|"
    r"demonstrat\w*|find|found|reveal\w*|yield\w*|lead\w* to|result\w* in|significant\w*|"
    r"comparable|better|faster|fewer|higher|lower|consistently|exceed\w*|gain\w*)\b",
    re.I,
)
BACKGROUND = re.compile(
    r"^(recent(ly)?|in recent years|with the (rapid|recent)|over the past|despite|however|"
    r"while|although|motivated by|to address|to this end|to tackle|existing|current|"
    r"traditional|conventional|prior|previous)\b"
    r"|\b(has|have) (attracted|gained|received|garnered|emerged|become|shown (great|remarkable))\b"
    r"|\bremains? (an? )?(open|challeng|unclear|underexplored)|\bwe (propose|introduce|present)\b",
    re.I,
)


def _share(concepts: Sequence[Any], present: set[str], aliases: Mapping[str, Any]) -> float:
    if not concepts:
        return 0.0
    return sum(1 for c in concepts if c.matches(present, aliases)) / len(concepts)


def names_core(
    concept: Concept, present: set[str], paper_terms: set[str], aliases: Mapping[str, Any]
) -> bool:
    """The claim names the core concept, or its paper does with every word of it."""
    return concept.matches(present, aliases) or concept.matches(paper_terms, aliases, strict=True)


def core_share(
    analysis: GoalAnalysis, present: set[str], paper_terms: set[str], aliases: Mapping[str, Any]
) -> float:
    if not analysis.core:
        return 0.0
    hits = sum(1 for c in analysis.core if names_core(c, present, paper_terms, aliases))
    return hits / len(analysis.core)


def answers_ask(
    analysis: GoalAnalysis,
    claim: str,
    present: set[str],
    aliases: Mapping[str, Any],
    paper_terms: set[str] | None = None,
) -> bool:
    """The claim gives what the goal asks: a number or comparison on an asked quantity, or a
    metric when the goal asks how something is measured. A bare quantity ("the reduction",
    "how is it measured") counts only in a claim that names the goal's core itself, so
    "dimensionality reduction" does not answer "how is the hallucination reduction measured".
    A yes/no goal is answered by a claim that names every concept of it (its core may be
    named by the claim's paper)."""
    if analysis.yes_no and len(analysis.concepts) > 1:
        paper = paper_terms or set()
        return all(
            names_core(c, present, paper, aliases)
            if c.kind == "core"
            else c.matches(present, aliases)
            for c in analysis.concepts
        )
    on_core = any(c.matches(present, aliases) for c in analysis.core)
    if analysis.measurement_asked and on_core and METRIC.search(claim):
        return True
    asked = [
        c
        for c in analysis.asks
        if c.matches(present, aliases) and (on_core or not set(c.terms) <= QUANTITY_HEADS)
    ]
    return bool(asked) and bool(NUMBER.search(claim) or COMPARISON.search(claim))


def features(
    analysis: GoalAnalysis,
    claim: str,
    paper_text: str,
    aliases: Mapping[str, Any] = {},
) -> dict[str, float]:
    present = present_terms(claim, aliases)
    paper = present_terms(paper_text, aliases)
    others = [c for c in analysis.concepts if c.kind != "core"]
    return {
        "core_claim": _share(analysis.core, present, aliases),
        "core_paper": core_share(analysis, present, paper, aliases),
        "aspect_claim": _share(others, present, aliases),
        "ask_answered": float(answers_ask(analysis, claim, present, aliases, paper)),
        "finding": float(bool(RESULT.search(claim))),
        "background": float(bool(BACKGROUND.search(claim))),
    }


@functools.lru_cache(maxsize=1)
def params() -> dict[str, Any]:
    """The fitted logistic model (weights per feature, intercept, threshold, provenance)."""
    text = resources.files("sovereign_agents.verifier_params").joinpath(PARAMS_FILE).read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def probability(values: Mapping[str, float]) -> float:
    p = params()
    z = p["intercept"] + sum(p["weights"][name] * values[name] for name in FEATURES)
    return 1 / (1 + math.exp(-z))


def threshold() -> float:
    return float(params()["threshold"])
