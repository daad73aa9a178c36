"""Scoring a research run against SciFact gold, as pure functions.

A run's report is read as a claim-verification system's output for one SciFact claim:

* **retrieval**: which of the claim's cited abstracts are among the run's papers;
* **evidence**: the abstract sentences the report's claims rest on (each active claim's evidence
  sentence, located in its SciFact abstract) against the gold rationale sentences;
* **label-only** (SciFact's abstract-level metric): a predicted (abstract, SUPPORT|CONTRADICT)
  is correct when the abstract is gold evidence for the claim with that label.

Counts are summed over claims (micro-averaged), as SciFact's own scorer does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel

from sovereign_agents.evals.verification_metrics import PRF, prf_counts
from sovereign_agents.text import normalize_space, tokens

GoldLabel = Literal["SUPPORT", "CONTRADICT"]


class GoldClaim(BaseModel):
    """One SciFact claim with its gold: cited abstracts, rationale sentences, labels."""

    id: int
    claim: str
    cited: list[str]
    rationales: dict[str, list[int]] = {}  # doc id -> gold rationale sentence indices
    labels: dict[str, GoldLabel] = {}  # doc id -> gold label (evidence docs only)


class Counts(BaseModel):
    """Per-claim counts; summed over claims for the micro-averaged metrics."""

    cited: int = 0
    cited_found: int = 0
    evidence_tp: int = 0
    evidence_fp: int = 0
    evidence_fn: int = 0
    label_tp: int = 0
    label_fp: int = 0
    label_fn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(**{k: getattr(self, k) + getattr(other, k) for k in Counts.model_fields})


def sentence_spans(sentences: Sequence[str]) -> list[tuple[int, int]]:
    """Character spans of each SciFact sentence in the abstract as the corpus loader holds it
    (sentences joined by one space, whitespace collapsed); empty sentences get (−1, −1)."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for sentence in sentences:
        text = normalize_space(sentence)
        if not text:
            spans.append((-1, -1))
            continue
        spans.append((cursor, cursor + len(text)))
        cursor += len(text) + 1
    return spans


def abstract_text(sentences: Sequence[str]) -> str:
    return " ".join(t for t in (normalize_space(s) for s in sentences) if t)


def locate(evidence: str, start: int | None, end: int | None, sentences: Sequence[str]) -> set[int]:
    """Indices of the abstract sentences an evidence passage covers.

    The claim's character offsets are used when they point at the evidence text; otherwise the
    evidence is searched in the abstract; failing that, the sentence sharing most of its words
    (at least half of the evidence's) is taken. Sentences the passage overlaps by fewer than
    half of their characters do not count (a splitter's boundary off by a few words).
    """
    text = abstract_text(sentences)
    evidence = normalize_space(evidence)
    if not evidence:
        return set()
    if start is None or end is None or text[start:end] != evidence:
        found = text.find(evidence)
        start, end = (found, found + len(evidence)) if found >= 0 else (None, None)
    spans = sentence_spans(sentences)
    if start is not None and end is not None:
        return {
            i
            for i, (lo, hi) in enumerate(spans)
            if hi > lo and min(hi, end) - max(lo, start) >= 0.5 * (hi - lo)
        } or {i for i, (lo, hi) in enumerate(spans) if hi > lo and min(hi, end) > max(lo, start)}
    words = set(tokens(evidence))
    best, best_share = None, 0.0
    for i, sentence in enumerate(sentences):
        share = len(words & set(tokens(sentence))) / max(1, len(words))
        if share > best_share:
            best, best_share = i, share
    return {best} if best is not None and best_share >= 0.5 else set()


def score_claim(
    gold: GoldClaim,
    papers: Iterable[str],
    evidence: set[tuple[str, int]],
    stances: dict[str, str],
) -> Counts:
    """Counts of one run: its paper ids, its (doc, sentence) evidence and its stance per paper
    (only SUPPORT / CONTRADICT are predictions; anything else is no prediction)."""
    found = set(papers)
    gold_sentences = {(d, i) for d, idx in gold.rationales.items() for i in idx}
    predicted = {(d, s) for d, s in stances.items() if s in ("SUPPORT", "CONTRADICT")}
    gold_labels = set(gold.labels.items())
    return Counts(
        cited=len(gold.cited),
        cited_found=len(set(gold.cited) & found),
        evidence_tp=len(evidence & gold_sentences),
        evidence_fp=len(evidence - gold_sentences),
        evidence_fn=len(gold_sentences - evidence),
        label_tp=len(predicted & gold_labels),
        label_fp=len(predicted - gold_labels),
        label_fn=len(gold_labels - predicted),
    )


class ResearchMetrics(BaseModel):
    goals: int
    retrieval_recall: float
    evidence: PRF
    label_only: PRF

    def summary(self, wall_s: float) -> dict[str, object]:
        """The form ``eval research --json`` prints."""
        keys = ("precision", "recall", "f1")
        return {
            "goals": self.goals,
            "retrieval": {"recall": self.retrieval_recall},
            "evidence": {k: getattr(self.evidence, k) for k in keys},
            "label_only": {k: getattr(self.label_only, k) for k in keys},
            "wall_s": round(wall_s, 2),
        }


def research_metrics(counts: Sequence[Counts]) -> ResearchMetrics:
    total = sum(counts, Counts())
    return ResearchMetrics(
        goals=len(counts),
        retrieval_recall=round(total.cited_found / total.cited, 4) if total.cited else 0.0,
        evidence=prf_counts(total.evidence_tp, total.evidence_fp, total.evidence_fn),
        label_only=prf_counts(total.label_tp, total.label_fp, total.label_fn),
    )
