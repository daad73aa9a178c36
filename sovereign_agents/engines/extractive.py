"""The offline engine: every role computed from the run's own data, no model.

* plan: RAKE keyphrases of the goal (and the anchor's title) combined into distinct queries;
* extract: claim-like sentences of an abstract that bear on the goal, whole and verbatim;
* write: the verified claims closest to the goal, each sentence citing its claim;
* review: each reviewer scores 0-10 from the measured signals and names the claims at issue;
* revise: drop unverified and off-goal claims, search again for the uncovered goal terms.
"""

from __future__ import annotations

import itertools
import re
from statistics import fmean

from sovereign_agents.engines.base import RoleResult
from sovereign_agents.safety import looks_like_injection
from sovereign_agents.schemas import (
    CitedSentence,
    Claim,
    Draft,
    Paper,
    Review,
    ReviewerRole,
    ReviewIssue,
    RevisionPlan,
    claim_id,
)
from sovereign_agents.signals import RunSignals, stemmed_terms
from sovereign_agents.text import analyze, goal_terms, keyphrases, split_sentences
from sovereign_agents.wording import count

NAME = "extractive"

_RESULT_CUE = re.compile(
    r"\b(achiev\w*|outperform\w*|improv\w*|reduc\w*|increas\w*|surpass\w*|show\w*|"
    r"demonstrat\w*|find|found|finding\w*|reveal\w*|yield\w*|enabl\w*|lead\w* to|result\w* in|"
    r"state-of-the-art|sota|significant\w*|comparable|better|faster|fewer|higher|lower|"
    r"accura\w*|efficien\w*|robust\w*|consistently|competitive|match\w*|exceed\w*|gain\w*)\b"
    r"|\d+(\.\d+)?\s?(%|x\b|×)",
    re.IGNORECASE,
)
_BACKGROUND_CUE = re.compile(
    r"^(recent(ly)?|in recent years|with the (rapid|recent)|over the past|despite|however,|"
    r"while|although|as|large language models \(llms\) have|this (paper|work) (is|was))\b"
    r"|\b(has|have) (attracted|gained|received|garnered)\b|\bremains? (an )?(open|challeng)",
    re.IGNORECASE,
)
_CODE_CUE = re.compile(
    r"(code|data|dataset|models?) (is|are|will be) (publicly )?(available|released)"
    r"|https?://|github\.com",
    re.IGNORECASE,
)


class ExtractiveEngine:
    name = NAME

    # --- plan -----------------------------------------------------------------------------
    def plan(self, goal: str, anchor: Paper | None, n_queries: int) -> RoleResult[list[str]]:
        return RoleResult(plan_queries(goal, anchor, n_queries), NAME)

    # --- extract --------------------------------------------------------------------------
    def extract(
        self, goal: str, paper: Paper, max_claims: int, round: int
    ) -> RoleResult[list[Claim]]:
        goal_stems = set(goal_terms(goal))
        scored: list[tuple[float, int, Claim]] = []
        for position, sentence in enumerate(split_sentences(paper.abstract)):
            score = claim_score(sentence.text, goal_stems, position)
            if score <= 0:
                continue
            claim = Claim(
                id=claim_id(paper.id, sentence.text),
                text=sentence.text,
                paper_id=paper.id,
                evidence=sentence.text,
                evidence_start=sentence.start,
                evidence_end=sentence.end,
                round=round,
                engine=NAME,
            )
            scored.append((score, position, claim))
        best = sorted(scored, key=lambda item: (-item[0], item[1]))[:max_claims]
        return RoleResult([claim for _, _, claim in sorted(best, key=lambda i: i[1])], NAME)

    # --- write ----------------------------------------------------------------------------
    def write(
        self,
        goal: str,
        claims: list[Claim],
        signals: RunSignals,
        revision: RevisionPlan | None,
        round: int,
    ) -> RoleResult[Draft]:
        return RoleResult(write_draft(goal, claims, signals, round), NAME)

    # --- review ---------------------------------------------------------------------------
    def review(
        self, role: ReviewerRole, goal: str, draft: Draft, claims: list[Claim], signals: RunSignals
    ) -> RoleResult[Review]:
        reviewer = {
            "skeptic": review_skeptic,
            "validator": review_validator,
            "synthesizer": review_synthesizer,
        }[role]
        score, issues, rationale = reviewer(signals, draft)
        review = Review(
            role=role,
            round=signals.round,
            score=round(min(10.0, max(0.0, score)), 2),
            issues=issues,
            rationale=rationale,
            engine=NAME,
        )
        return RoleResult(review, NAME)

    # --- revise ---------------------------------------------------------------------------
    def revise(
        self,
        goal: str,
        queries_done: list[str],
        reviews: list[Review],
        claims: list[Claim],
        signals: RunSignals,
        n_queries: int,
        round: int,
    ) -> RoleResult[RevisionPlan]:
        drop = [
            c.id for c in claims if c.id in set(signals.unverified_ids) | set(signals.off_goal_ids)
        ]
        focus = sorted({cid for r in reviews for i in r.issues for cid in i.claim_ids})
        queries = refine_queries(goal, signals, queries_done, n_queries)
        missing = ", ".join(signals.missing_terms) or "none"
        rationale = (
            f"dropped {count(len(drop), 'unverified or off-goal claim')}; searching again for "
            f"the goal terms no verified claim covers ({missing})"
        )
        return RoleResult(
            RevisionPlan(
                round=round,
                queries=queries,
                dropped_claim_ids=drop,
                focus_claim_ids=focus,
                rationale=rationale,
                engine=NAME,
            ),
            NAME,
        )


# ------------------------------------------------------------------------------------------
# planner


def plan_queries(goal: str, anchor: Paper | None, n_queries: int) -> list[str]:
    """Distinct keyphrase queries: the goal's gist first, then its keyphrases combined."""
    phrases = keyphrases(goal, limit=8)
    if not phrases:
        phrases = goal_terms(goal)[:6] or [goal.strip()[:80]]
    candidates: list[str] = [" ".join(phrases[:3])]
    if anchor is not None:
        candidates.append(" ".join(keyphrases(anchor.title, limit=3)) or anchor.title)
    candidates += phrases[:n_queries]
    candidates += [f"{phrases[0]} {p}" for p in phrases[1:]]
    candidates += [f"{a} {b}" for i, a in enumerate(phrases) for b in phrases[i + 2 :]]
    # a goal with few keyphrases: adjacent goal-term pairs, then single terms
    terms = goal_terms(goal)
    candidates += [f"{a} {b}" for a, b in itertools.pairwise(terms)]
    candidates += terms
    return _distinct(candidates, n_queries)


def refine_queries(goal: str, signals: RunSignals, done: list[str], n_queries: int) -> list[str]:
    """New queries aimed at the goal terms that no verified claim covers yet."""
    done_keys = {_query_key(q) for q in done}
    phrases = keyphrases(goal, limit=10)
    missing = signals.missing_terms or signals.goal_terms
    anchor_phrase = next(
        (p for p in phrases if any(t in p.split() for t in signals.covered_terms)),
        phrases[0] if phrases else "",
    )
    candidates = [p for p in phrases if any(t in p.split() for t in missing)]
    candidates += [f"{t} {anchor_phrase}".strip() for t in missing]
    candidates += [" ".join(missing[i : i + 2]) for i in range(0, len(missing), 2)]
    candidates += [f"{a} {b}" for i, a in enumerate(phrases) for b in phrases[i + 1 :]]
    fresh = [q for q in _distinct(candidates, 4 * n_queries) if _query_key(q) not in done_keys]
    return fresh[:n_queries] or _distinct([f"{goal_terms(goal)[0]} survey"], 1)


def _query_key(query: str) -> frozenset[str]:
    return frozenset(analyze(query))


def _distinct(candidates: list[str], n: int) -> list[str]:
    seen: list[frozenset[str]] = []
    out: list[str] = []
    for query in candidates:
        key = _query_key(query)
        if not key or key in seen:
            continue
        seen.append(key)
        out.append(" ".join(query.split()))
        if len(out) == n:
            break
    return out


# ------------------------------------------------------------------------------------------
# extractor


def claim_score(sentence: str, goal_stems: set[str], position: int) -> float:
    """How claim-like a sentence is, and how much it bears on the goal. <= 0: not a claim."""
    words = sentence.split()
    if not 8 <= len(words) <= 80 or looks_like_injection(sentence) or _CODE_CUE.search(sentence):
        return 0.0
    overlap = stemmed_terms(sentence) & goal_stems
    if len(overlap) < min(2, len(goal_stems)):
        return 0.0
    score = 1.0 + 2.0 * len(overlap) / max(1, len(goal_stems))
    score += 0.8 * min(2, len(_RESULT_CUE.findall(sentence)))
    if _BACKGROUND_CUE.search(sentence):
        score -= 1.2
    if position == 0:
        score -= 0.3  # the first sentence of an abstract is usually context
    return score


# ------------------------------------------------------------------------------------------
# writer


def write_draft(goal: str, claims: list[Claim], signals: RunSignals, round: int) -> Draft:
    verified = [c for c in claims if c.verified]
    relevance = signals.claim_relevance
    goal_stems = set(signals.goal_terms)

    def closeness(claim: Claim) -> float:
        """Bears on the goal, states a finding (not background), from a relevant paper."""
        overlap = len(stemmed_terms(claim.text) & goal_stems) / max(1, len(goal_stems))
        finding = min(2, len(_RESULT_CUE.findall(claim.text))) / 2
        background = 0.5 if _BACKGROUND_CUE.search(claim.text) else 0.0
        return overlap + relevance.get(claim.id, 0.0) + 0.5 * finding - background

    ranked = sorted(verified, key=lambda c: (-closeness(c), c.id))
    answer: list[CitedSentence] = []
    if ranked:
        best = ranked[0]
        answer.append(
            CitedSentence(text=f"Most directly on the goal: {best.text}", claim_ids=[best.id])
        )
        papers = len({c.paper_id for c in verified})
        answer.append(
            CitedSentence(
                text=(
                    f"This rests on {count(len(verified), 'verified claim')} from "
                    f"{count(papers, 'paper')}; "
                    f"{signals.goal_coverage:.0%} of the goal's terms are covered by them."
                ),
                claim_ids=[c.id for c in ranked[:3]],
            )
        )
        if signals.missing_terms:
            answer.append(
                CitedSentence(
                    text=(
                        "No verified claim addresses: "
                        + ", ".join(signals.missing_terms)
                        + "; the draft does not answer those parts of the goal."
                    ),
                    claim_ids=[],
                )
            )
    else:
        answer.append(
            CitedSentence(
                text="No verified claim bears on the goal, so the draft cannot answer it.",
                claim_ids=[],
            )
        )
    # abstract: one claim per paper first (diversity), then the rest, at most five
    abstract: list[CitedSentence] = []
    used_papers: set[str] = set()
    in_answer = {cid for s in answer for cid in s.claim_ids[:1]}
    ranked = [c for c in ranked if c.id not in in_answer] if len(ranked) > 1 else ranked
    for claim in ranked:
        if claim.paper_id not in used_papers and len(abstract) < 5:
            abstract.append(CitedSentence(text=claim.text, claim_ids=[claim.id]))
            used_papers.add(claim.paper_id)
    for claim in ranked:
        if len(abstract) >= 5:
            break
        if all(claim.id not in s.claim_ids for s in abstract):
            abstract.append(CitedSentence(text=claim.text, claim_ids=[claim.id]))
    if not abstract:
        abstract.append(
            CitedSentence(
                text=(
                    f"The search for '{goal}' found {count(signals.n_papers, 'paper')} but no claim "
                    "that could be verified against its source."
                ),
                claim_ids=[],
            )
        )
    return Draft(round=round, abstract=abstract, answer=answer, engine=NAME)


# ------------------------------------------------------------------------------------------
# reviewers: each scores 0-10 from the signals and names the claims at issue


def _confidence_score(signals: RunSignals) -> float:
    """Mean confidence mapped to [0, 1]: the threshold gives 0.25, 0.45 and above give 1."""
    if signals.n_claims == 0:
        return 0.0
    t = signals.threshold
    return max(0.0, min(1.0, 0.25 + 0.75 * (signals.mean_confidence - t) / max(1e-9, 0.45 - t)))


def _relevance_score(signals: RunSignals) -> float:
    values = list(signals.claim_relevance.values())
    return min(1.0, fmean(values) / 0.45) if values else 0.0


def review_skeptic(signals: RunSignals, draft: Draft) -> tuple[float, list[ReviewIssue], str]:
    issues: list[ReviewIssue] = []
    if signals.unverified_ids:
        issues.append(
            ReviewIssue(
                text="claims not verified against their source",
                claim_ids=signals.unverified_ids,
                severity="high",
            )
        )
    if signals.grey_zone_ids:
        issues.append(
            ReviewIssue(
                text="confidence within 0.05 of the threshold: a weak verdict",
                claim_ids=signals.grey_zone_ids,
                severity="medium",
            )
        )
    if signals.single_source_ids:
        issues.append(
            ReviewIssue(
                text="no other retrieved paper corroborates these claims",
                claim_ids=signals.single_source_ids,
                severity="low",
            )
        )
    if signals.off_goal_ids:
        issues.append(
            ReviewIssue(
                text="claims that share no term with the goal",
                claim_ids=signals.off_goal_ids,
                severity="medium",
            )
        )
    if signals.cites_unverified_ids:
        issues.append(
            ReviewIssue(
                text="the draft cites unverified claims",
                claim_ids=signals.cites_unverified_ids,
                severity="high",
            )
        )
    if signals.n_claims == 0:
        return (
            0.0,
            [ReviewIssue(text="no claims to support the draft", severity="high")],
            "nothing was extracted, so nothing in the draft is supported",
        )
    n = signals.n_claims
    corroborated = 1 - len(signals.single_source_ids) / n
    on_goal = 1 - len(signals.off_goal_ids) / n
    score = 10 * (
        0.25 * signals.verified_share
        + 0.25 * corroborated
        + 0.1 * _confidence_score(signals)
        + 0.15 * on_goal * _relevance_score(signals)
        + 0.25 * signals.goal_coverage**2
    )
    score -= 1.5 * len(signals.cites_unverified_ids)
    rationale = (
        f"{signals.n_verified} of {count(n, 'claim')} verified, {len(signals.single_source_ids)} "
        f"single-source, {len(signals.off_goal_ids)} off the goal"
    )
    return score, issues, rationale


def review_validator(signals: RunSignals, draft: Draft) -> tuple[float, list[ReviewIssue], str]:
    issues: list[ReviewIssue] = []
    low = [cid for cid in signals.grey_zone_ids if cid not in signals.unverified_ids]
    if signals.unverified_ids:
        issues.append(
            ReviewIssue(
                text="confidence below the verification threshold",
                claim_ids=signals.unverified_ids,
                severity="high",
            )
        )
    if low:
        issues.append(
            ReviewIssue(
                text="verified, but barely above the threshold", claim_ids=low, severity="medium"
            )
        )
    if signals.uncited_sentences:
        issues.append(
            ReviewIssue(
                text=f"{count(signals.uncited_sentences, 'draft sentence')} "
                f"{'cites' if signals.uncited_sentences == 1 else 'cite'} no claim",
                severity="low",
            )
        )
    if signals.n_claims == 0:
        return (
            0.0,
            [ReviewIssue(text="no claims were extracted to validate", severity="high")],
            "no evidence to validate",
        )
    cited = (signals.draft_sentences - signals.uncited_sentences) / max(1, signals.draft_sentences)
    score = 10 * (
        0.4 * signals.verified_share
        + 0.2 * _confidence_score(signals)
        + 0.15 * cited
        + 0.25 * _relevance_score(signals)
    )
    score -= 1.0 * len(signals.cites_unverified_ids)
    rationale = (
        f"verified share {signals.verified_share:.0%}, mean confidence "
        f"{signals.mean_confidence:.2f}, sources' relevance to the goal "
        f"{_relevance_score(signals):.2f}"
    )
    return score, issues, rationale


def review_synthesizer(signals: RunSignals, draft: Draft) -> tuple[float, list[ReviewIssue], str]:
    issues: list[ReviewIssue] = []
    if signals.missing_terms:
        issues.append(
            ReviewIssue(
                text="goal terms no verified claim covers: " + ", ".join(signals.missing_terms),
                severity="high" if signals.goal_coverage < 0.5 else "medium",
            )
        )
    if signals.n_verified and signals.source_diversity < 0.5:
        issues.append(
            ReviewIssue(text="most verified claims come from the same papers", severity="medium")
        )
    if signals.n_relevant_papers < 2:
        issues.append(
            ReviewIssue(
                text="fewer than two retrieved papers are relevant to the goal", severity="high"
            )
        )
    diversity = min(1.0, signals.source_diversity / 0.6) if signals.n_verified else 0.0
    breadth = min(1.0, signals.n_relevant_papers / 4)
    # answering the goal is this role's question: uncovered goal terms weigh quadratically
    score = (
        10
        * signals.goal_coverage**2
        * (0.7 + 0.1 * diversity + 0.1 * breadth + 0.1 * _relevance_score(signals))
    )
    rationale = (
        f"covers {signals.goal_coverage:.0%} of the goal's terms with "
        f"{count(signals.n_relevant_papers, 'relevant paper')}"
    )
    return score, issues, rationale
