"""The offline engine: every role computed from the run's own data, no model.

* plan: the goal's concepts (``goal.py``): every query keeps its core concept and adds one
  of the others (the anchor's title phrases too);
* extract: the sentences of an abstract that report a finding on the goal (``findings.py``: a
  model fitted on SciFact over result, statistic, conclusion, method and position cues and the
  goal's concepts), as the finding itself (section label and discourse scaffolding such as
  "Our results show that" dropped, numbers, conditions and hedges kept), each tied to its
  source sentence as evidence;
* write: an answer led by the relevant, verified claims that give what the goal asks
  (numbers, comparisons), saying plainly what no claim answers;
* review: each reviewer's offline scorer (``roles.py``, ``offline_reviewers.py``) scores 0-10
  from the claims that bear on the goal and whether its ask is answered, and names the
  claims at issue;
* revise: drop unverified and off-goal claims, search again for the uncovered concepts;
* judge: no label (offline, the verifier's stance model judges each claim's stance).

"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

from sovereign_agents import findings
from sovereign_agents import relevance as rel
from sovereign_agents.engines.base import RoleResult
from sovereign_agents.findings import finding
from sovereign_agents.goal import harvest_aliases, understand_goal
from sovereign_agents.role_schemas import JudgeOutput
from sovereign_agents.roles import offline_scorer
from sovereign_agents.safety import looks_like_injection
from sovereign_agents.schemas import (
    CitedSentence,
    Claim,
    Draft,
    Paper,
    Review,
    ReviewerRole,
    RevisionPlan,
    claim_id,
)
from sovereign_agents.signals import RunSignals
from sovereign_agents.text import Sentence, analyze, goal_terms, keyphrases, split_sentences
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
    judges_stance = False  # its judge labels nothing: the verifier's own stance stands

    # --- plan -----------------------------------------------------------------------------
    def plan(self, goal: str, anchor: Paper | None, n_queries: int) -> RoleResult[list[str]]:
        return RoleResult(plan_queries(goal, anchor, n_queries), NAME)

    # --- extract --------------------------------------------------------------------------
    def extract(
        self, goal: str, paper: Paper, max_claims: int, round: int
    ) -> RoleResult[list[Claim]]:
        return RoleResult(finding_claims(goal, paper, max_claims, round), NAME)

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
        score, issues, rationale = offline_scorer(role)(signals, draft)
        review = Review(
            role=role,
            round=signals.round,
            score=round(min(10.0, max(0.0, score)), 2),
            issues=issues,
            rationale=rationale,
            engine=NAME,
        )
        return RoleResult(review, NAME)

    # --- judge ----------------------------------------------------------------------------
    def judge(
        self, claims: list[str], evidences: list[str]
    ) -> RoleResult[list[JudgeOutput | None]]:
        """No model reads the claims offline: no label (the hybrid's stance model judges)."""
        return RoleResult([None] * len(claims), NAME)

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
    """Distinct queries that each keep the goal's core concept: the gist (core + what is
    asked) first, then the core with each other concept; keyphrases fill in for goals whose
    concepts are few."""
    analysis = understand_goal(goal)
    core = " ".join(c.text for c in analysis.core)
    others = [c.text for c in analysis.concepts if c.kind != "core"]
    asks = [c.text for c in analysis.asks]
    candidates: list[str] = []
    if core:
        candidates.append(f"{core} {asks[0]}" if asks else core)
    if anchor is not None:
        candidates.append(" ".join(keyphrases(anchor.title, limit=3)) or anchor.title)
    candidates += [f"{core} {other}".strip() for other in others]
    candidates += [f"{core} {a} {b}".strip() for a, b in itertools.pairwise(others)]
    if core:
        candidates.append(core)
    phrases = keyphrases(goal, limit=8)
    candidates += [f"{core} {p}".strip() for p in phrases]
    candidates += phrases or goal_terms(goal)[:6] or [goal.strip()[:80]]
    return _distinct(candidates, n_queries)


def refine_queries(goal: str, signals: RunSignals, done: list[str], n_queries: int) -> list[str]:
    """New queries aimed at the goal's concepts that no relevant, verified claim covers yet,
    each with the core concept, so a revision cannot drift to the goal's other words."""
    done_keys = {_query_key(q) for q in done}
    analysis = understand_goal(goal)
    core = " ".join(c.text for c in analysis.core)
    missing = [t for t in signals.missing_terms if t not in signals.core_concepts]
    candidates = [f"{core} {t}".strip() for t in missing]
    candidates += [f"{core} {a} {b}".strip() for a, b in itertools.pairwise(missing)]
    candidates += [
        f"{core} {t}".strip() for t in signals.asks if t in {c.text for c in analysis.asks}
    ]
    candidates += [core, *(f"{core} {p}".strip() for p in keyphrases(goal, limit=10))]
    fresh = [q for q in _distinct(candidates, 4 * n_queries) if _query_key(q) not in done_keys]
    return fresh[:n_queries] or _distinct([f"{core or goal_terms(goal)[0]} survey"], 1)


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


def finding_claims(goal: str, paper: Paper, max_claims: int, round: int) -> list[Claim]:
    """The sentences of an abstract that report a finding on the goal (``findings.py``'s
    fitted model: result and statistic cues, conclusions late in the abstract, structured
    abstracts' sections, the goal's concepts), at most the model's ``per_paper`` of them,
    each as the finding it states with the sentence as its evidence. A sentence that names
    none of the goal's concepts, a funding line or a code-availability line is never one."""
    analysis = understand_goal(goal)
    aliases = harvest_aliases([paper.text])
    split = split_sentences(paper.abstract)
    texts = [s.text for s in split]
    params = findings.params()
    labels = findings.sections(texts)
    rows = findings.sentence_features(analysis, texts, paper.text, aliases)
    probabilities: dict[int, float] = {}
    for position, (sentence, values) in enumerate(zip(texts, rows, strict=True)):
        body = findings.without_label(sentence)
        if (
            not 8 <= len(body.split()) <= 80
            or looks_like_injection(sentence)
            or _CODE_CUE.search(sentence)
            or findings.skipped(sentence, labels[position])
        ):
            continue
        named = rel.features(analysis, body, paper.text, aliases)
        if not (named["core_claim"] or named["aspect_claim"]):
            continue  # names none of the goal's concepts
        probabilities[position] = findings.probability(values, params)
    limit = min(max_claims, int(params["per_paper"]))
    best = sorted(probabilities, key=lambda i: (-probabilities[i], i))[:limit]
    chosen = sorted(i for i in best if probabilities[i] >= float(params["threshold"]))
    return [_claim(paper, split[i], round) for i in chosen]


def read_anchor(goal: str, paper: Paper, max_claims: int, round: int) -> RoleResult[list[Claim]]:
    """The anchor paper's findings, whether or not they use the goal's words: the sentences
    that report a result, best first (the run is about this paper)."""

    def score(sentence: str, position: int) -> float:
        if not 8 <= len(sentence.split()) <= 80 or looks_like_injection(sentence):
            return 0.0
        background = 1.5 if _BACKGROUND_CUE.search(sentence) else 0.0
        return min(2, len(_RESULT_CUE.findall(sentence))) - background

    return RoleResult(best_claims(paper, score, max_claims, round), NAME)


def best_claims(
    paper: Paper, score: Callable[[str, int], float], max_claims: int, round: int
) -> list[Claim]:
    """The ``max_claims`` best-scoring sentences of an abstract (score > 0), in abstract order,
    each as the finding it states with the sentence as its evidence."""
    scored = [
        (value, position, sentence)
        for position, sentence in enumerate(split_sentences(paper.abstract))
        if (value := score(sentence.text, position)) > 0
    ]
    best = sorted(scored, key=lambda item: (-item[0], item[1]))[:max_claims]
    return [_claim(paper, sentence, round) for _, _, sentence in sorted(best, key=lambda i: i[1])]


def _claim(paper: Paper, sentence: Sentence, round: int) -> Claim:
    """The finding a sentence states, tied to the sentence as its evidence."""
    return Claim(
        id=claim_id(paper.id, sentence.text),
        text=finding(sentence.text),
        paper_id=paper.id,
        evidence=sentence.text,
        evidence_start=sentence.start,
        evidence_end=sentence.end,
        round=round,
        engine=NAME,
    )


# ------------------------------------------------------------------------------------------
# writer


def write_draft(goal: str, claims: list[Claim], signals: RunSignals, round: int) -> Draft:
    """An answer led by the claims that give what the goal asks, then what bears on it, then
    what the evidence does not answer; the abstract adds one relevant claim per paper."""
    by_id = {c.id: c for c in claims if c.verified}
    relevance = signals.claim_relevance
    anchor = set(signals.anchor_ids)

    def rank(ids: list[str]) -> list[Claim]:
        def key(c: Claim) -> tuple[float, ...]:
            background = bool(_BACKGROUND_CUE.search(c.text) or rel.BACKGROUND.search(c.text))
            numberless = not rel.NUMBER.search(c.text)  # a number answers before a word
            return (
                -(c.id in anchor),
                background,
                numberless,
                -relevance.get(c.id, 0.0),
                -c.confidence,
            )

        return sorted((by_id[i] for i in ids if i in by_id), key=lambda c: (*key(c), c.id))

    answering = rank(signals.answering_ids)
    relevant = [c for c in rank(signals.relevant_verified_ids) if c.id not in signals.answering_ids]
    answer: list[CitedSentence] = []
    for claim in answering[:3]:
        answer.append(CitedSentence(text=claim.text, claim_ids=[claim.id]))
    for claim in relevant[: max(0, 2 - len(answer))]:
        if not (_BACKGROUND_CUE.search(claim.text) or rel.BACKGROUND.search(claim.text)):
            answer.append(CitedSentence(text=claim.text, claim_ids=[claim.id]))
    papers = {c.paper_id for c in [*answering, *relevant]}
    if answer:
        answer.append(
            CitedSentence(
                text=(
                    f"{_count(len(answering) + len(relevant), 'verified claim')} from "
                    f"{_count(len(papers), 'paper')} "
                    f"{'bears' if len(answering) + len(relevant) == 1 else 'bear'} on the goal; "
                    f"{_of_them(len(answering))} what it asks."
                ),
                claim_ids=[c.id for c in [*answering, *relevant][:3]],
            )
        )
    else:
        answer.append(
            CitedSentence(
                text=(
                    f"None of the {_count(signals.n_verified, 'verified claim')} bears on the "
                    "goal, so this draft does not answer it."
                ),
                claim_ids=[],
            )
        )
    unanswered = [a for a in signals.asks if not signals.answering_ids]
    if signals.missing_terms or unanswered:
        parts = []
        if signals.missing_terms:
            parts.append("no verified claim covers " + ", ".join(signals.missing_terms))
        if unanswered:
            parts.append("none reports " + " or ".join(unanswered))
        answer.append(
            CitedSentence(
                text="The retrieved evidence does not answer all of the goal: "
                + "; ".join(parts)
                + ".",
                claim_ids=[],
            )
        )
    abstract: list[CitedSentence] = []
    used_papers: set[str] = set()
    in_answer = {cid for s in answer for cid in s.claim_ids[:1]}
    anchored = [c for c in rank(signals.anchor_ids) if c.id not in in_answer][:2]
    for claim in [*anchored, *answering, *relevant]:
        if claim.id in in_answer or claim.paper_id in used_papers or len(abstract) >= 5:
            continue
        abstract.append(CitedSentence(text=claim.text, claim_ids=[claim.id]))
        used_papers.add(claim.paper_id)
    if not abstract and not in_answer:
        abstract.append(
            CitedSentence(
                text=(
                    f"The search for '{goal}' found {_count(signals.n_papers, 'paper')} and "
                    f"{_count(signals.n_verified, 'verified claim')}, none of which bears on "
                    "the goal."
                ),
                claim_ids=[],
            )
        )
    return Draft(round=round, abstract=abstract, answer=answer, engine=NAME)


def _count(n: int, singular: str) -> str:
    """'1 paper', '3 papers'."""
    return f"{n} {singular}" if n == 1 else f"{n} {singular}s"


def _of_them(n: int) -> str:
    """'none of them gives', '1 of them gives', '2 of them give'."""
    return "none of them gives" if n == 0 else f"{n} of them give{'s' if n == 1 else ''}"
