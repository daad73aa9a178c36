"""Measured signals of a run: what the reviewers score and what Uncertainties report.

Everything here is computed from the run's own data (claims, verifications, papers, draft),
so the offline reviewers score this run, not a canned text, and an LLM reviewer sees the
same numbers in its prompt.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel, Field

from sovereign_agents import relevance as rel
from sovereign_agents.goal import GoalAnalysis, harvest_aliases, present_terms, understand_goal
from sovereign_agents.schemas import Claim, Draft, RankedPaper
from sovereign_agents.text import analyze, goal_terms
from sovereign_agents.verification.cues import cross_support

SINGLE_SOURCE_BELOW = 0.10  # best cosine with a claim of another paper
GREY_ZONE = 0.05  # confidence within this of the threshold is a weak verdict


class RunSignals(BaseModel):
    round: int
    n_papers: int
    n_relevant_papers: int
    mean_relevance: float
    n_claims: int
    n_verified: int
    verified_share: float
    mean_confidence: float
    threshold: float
    goal_terms: list[str]
    covered_terms: list[str] = Field(
        description="the goal's concepts that a relevant, verified claim covers"
    )
    missing_terms: list[str] = Field(
        description="the goal's concepts that no relevant, verified claim covers"
    )
    goal_coverage: float = Field(
        description="share of the goal's concepts covered by relevant, verified claims "
        "(core concepts count double)"
    )
    source_diversity: float = Field(description="distinct papers among verified claims / verified")
    unverified_ids: list[str]
    grey_zone_ids: list[str] = Field(description="confidence within 0.05 of the threshold")
    single_source_ids: list[str]
    off_goal_ids: list[str] = Field(
        description="claims that do not bear on the goal (relevance below its threshold)"
    )
    claim_relevance: dict[str, float] = Field(
        description="claim id -> P(the claim bears on the goal), from relevance.py"
    )
    paper_relevance: dict[str, float] = Field(
        default_factory=dict, description="claim id -> its paper's relevance to the goal"
    )
    relevant_verified_ids: list[str] = Field(
        default_factory=list, description="verified claims that bear on the goal"
    )
    answering_ids: list[str] = Field(
        default_factory=list,
        description="relevant, verified claims that give what the goal asks (a number, a "
        "comparison, a metric)",
    )
    asks: list[str] = Field(default_factory=list, description="what the goal asks for")
    core_concepts: list[str] = Field(default_factory=list)
    core_covered: bool = Field(
        default=False, description="every core concept is covered by a relevant, verified claim"
    )
    goal_flags: list[str] = Field(
        default_factory=list, description="why the goal cannot be answered as asked"
    )
    claim_papers: dict[str, str] = Field(default_factory=dict, description="claim id -> paper id")
    anchor_ids: list[str] = Field(
        default_factory=list, description="claims from the anchor paper (--paper)"
    )
    draft_sentences: int = 0
    uncited_sentences: int = 0
    cites_unverified_ids: list[str] = Field(default_factory=list)

    def summary(self) -> str:
        """The signals as the short text an LLM reviewer reads."""
        return (
            f"papers: {self.n_papers} ({self.n_relevant_papers} relevant, mean relevance "
            f"{self.mean_relevance:.2f}); claims: {self.n_claims}, verified {self.n_verified} "
            f"({self.verified_share:.0%}), mean confidence {self.mean_confidence:.2f} "
            f"(threshold {self.threshold}); claims bearing on the goal: "
            f"{len(self.relevant_verified_ids)} verified, {len(self.answering_ids)} answering "
            f"what it asks ({', '.join(self.asks) or 'no quantity asked'}); goal concepts "
            f"covered: {self.goal_coverage:.0%} (missing: {', '.join(self.missing_terms) or 'none'}"
            f"); goal issues: {'; '.join(self.goal_flags) or 'none'}; source diversity "
            f"{self.source_diversity:.2f}; single-source claims: "
            f"{', '.join(self.single_source_ids) or 'none'}; unverified claims: "
            f"{', '.join(self.unverified_ids) or 'none'}; draft sentences citing no claim: "
            f"{self.uncited_sentences}/{self.draft_sentences}"
        )


def stemmed_terms(text: str) -> set[str]:
    return set(analyze(text))


def goal_weights(goal: str, texts: Sequence[str]) -> dict[str, float]:
    """IDF of each goal term over ``texts`` (smoothed): rare terms carry the goal's topic.

    A term no text contains gets the highest weight, so a goal whose distinctive words the
    search never found scores low coverage instead of being matched on its common words.
    """
    terms = goal_terms(goal)
    docs = [stemmed_terms(t) for t in texts]
    n = len(docs)
    return {t: round_(math.log((n + 1) / (sum(t in d for d in docs) + 1)) + 1) for t in terms}


def weighted_share(terms: Sequence[str], present: set[str], weights: dict[str, float]) -> float:
    total = sum(weights.get(t, 1.0) for t in terms)
    return sum(weights.get(t, 1.0) for t in terms if t in present) / total if total else 0.0


def measure(
    goal: str,
    claims: Sequence[Claim],
    papers: Sequence[RankedPaper],
    *,
    threshold: float,
    min_relevance: float,
    round: int,
    draft: Draft | None = None,
    weights: dict[str, float] | None = None,
    analysis: GoalAnalysis | None = None,
) -> RunSignals:
    analysis = analysis or understand_goal(goal)
    terms = goal_terms(goal)
    texts = {p.paper.id: p.paper.text for p in papers}
    aliases = harvest_aliases(texts.values())
    verified = [c for c in claims if c.verified]
    relevance = {p.paper.id: p.relevance for p in papers}
    anchors = {p.paper.id for p in papers if p.anchor}
    claim_rel: dict[str, float] = {}
    answering: list[str] = []
    covered_in: dict[str, set[str]] = {}
    for claim in claims:
        paper_text = texts.get(claim.paper_id, "")
        values = rel.features(analysis, claim.text, paper_text, aliases)
        claim_rel[claim.id] = round_(rel.probability(values))
        if claim.verified and claim_rel[claim.id] >= rel.threshold():
            present = present_terms(claim.text, aliases)
            paper = present_terms(paper_text, aliases)
            for concept in analysis.concepts:
                if (
                    rel.names_core(concept, present, paper, aliases)
                    if concept.kind == "core"
                    else concept.matches(present, aliases)
                ):
                    covered_in.setdefault(concept.text, set()).add(claim.id)
            if values["ask_answered"] and values["core_paper"] == 1.0:
                answering.append(claim.id)
    relevant_verified = [c.id for c in verified if claim_rel[c.id] >= rel.threshold()]
    weight = {c.text: 2.0 if c.kind == "core" else 1.0 for c in analysis.concepts}
    total = sum(weight.values())
    coverage = sum(weight[t] for t in covered_in) / total if total else 0.0
    support = cross_support([c.text for c in claims], [c.paper_id for c in claims])
    n_verified = len(verified)
    signals = RunSignals(
        round=round,
        n_papers=len(papers),
        n_relevant_papers=sum(1 for p in papers if p.relevance >= min_relevance),
        mean_relevance=_mean([p.relevance for p in papers]),
        n_claims=len(claims),
        n_verified=n_verified,
        verified_share=n_verified / len(claims) if claims else 0.0,
        mean_confidence=_mean([c.confidence for c in claims]),
        threshold=threshold,
        goal_terms=terms,
        covered_terms=[c.text for c in analysis.concepts if c.text in covered_in],
        missing_terms=[c.text for c in analysis.concepts if c.text not in covered_in],
        goal_coverage=round_(coverage),
        source_diversity=(len({c.paper_id for c in verified}) / n_verified) if verified else 0.0,
        unverified_ids=[c.id for c in claims if not c.verified],
        grey_zone_ids=[c.id for c in claims if abs(c.confidence - threshold) < GREY_ZONE],
        single_source_ids=[
            c.id for c, s in zip(claims, support, strict=True) if s < SINGLE_SOURCE_BELOW
        ],
        off_goal_ids=[c.id for c in claims if claim_rel[c.id] < rel.threshold()],
        claim_relevance=claim_rel,
        paper_relevance={c.id: round_(relevance.get(c.paper_id, 0.0)) for c in claims},
        relevant_verified_ids=relevant_verified,
        answering_ids=answering,
        asks=analysis.ask_labels,
        core_concepts=[c.text for c in analysis.core],
        core_covered=bool(analysis.core) and all(c.text in covered_in for c in analysis.core),
        goal_flags=analysis.flags(),
        claim_papers={c.id: c.paper_id for c in claims},
        anchor_ids=[c.id for c in claims if c.paper_id in anchors],
    )
    if draft is not None:
        signals = with_draft(signals, draft, claims)
    return signals


def with_draft(signals: RunSignals, draft: Draft, claims: Sequence[Claim]) -> RunSignals:
    """``signals`` with the draft's own measures added: how many of its sentences cite no
    claim, and which unverified claims it cites (``measure(..., draft=draft)`` in two steps:
    the writer reads the signals before the draft exists)."""
    sentences = [*draft.answer, *draft.abstract]
    by_id = {c.id: c for c in claims}
    return signals.model_copy(
        update={
            "draft_sentences": len(sentences),
            "uncited_sentences": sum(1 for s in sentences if not s.claim_ids),
            "cites_unverified_ids": sorted(
                {
                    cid
                    for s in sentences
                    for cid in s.claim_ids
                    if cid in by_id and not by_id[cid].verified
                }
            ),
        }
    )


def _mean(values: Sequence[float]) -> float:
    return round_(sum(values) / len(values)) if values else 0.0


def round_(value: float) -> float:
    return round(float(value), 4)
