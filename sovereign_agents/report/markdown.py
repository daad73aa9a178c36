"""``report.md``, rendered from the typed report (schema.py).

Every text that comes from sources and models is escaped (escaping.py): a title, claim,
answer or issue cannot add a heading, a table row, a link or HTML. Methodology is generated
from what the run did; the tribunal's roster from the reviews that sat (roles.py order).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sovereign_agents.escaping import md_cell, md_text, safe_link
from sovereign_agents.report.schema import Report, ReportClaim, as_report
from sovereign_agents.roles import in_order
from sovereign_agents.schemas import CitedSentence
from sovereign_agents.wording import count, number_word, score


def _date(created_at: str) -> str:
    try:
        moment = datetime.fromisoformat(created_at)
    except ValueError:
        return created_at
    return f"{moment:%B} {moment.day}, {moment.year}"


def _cite_md(sentences: list[CitedSentence]) -> str:
    """The draft's sentences for report.md: each one's text and claim ids escaped, so a
    writer's answer cannot add a heading, a table, a link or HTML."""
    parts = []
    for s in sentences:
        ids = "".join(f" [{md_text(cid)}]" for cid in s.claim_ids)
        parts.append(f"{md_text(s.text)}{ids}")
    return " ".join(parts)


def results_line(report: Report | Mapping[str, Any]) -> str:
    """The Results line, plain text: report.md escapes it, report.html shows it as text."""
    r = as_report(report)
    t = r.tribunal
    active = r.active_claims
    verified = sum(1 for c in active if c.verified)
    return (
        f"{count(len(r.papers), 'paper')} retrieved. {count(len(active), 'claim')} "
        f"extracted, {verified} verified. Tribunal: {score(t.score)}/10 → {t.verdict} "
        f"(revision_round={t.revision_round}). Policy: {r.policy}."
    )


def reviewer_roster(report: Report | Mapping[str, Any]) -> list[str]:
    """The reviewer roles that sat in this run, in the registry's order (roles.py; a role
    the registry of this process lacks comes last)."""
    r = as_report(report)
    seen = [role for rnd in r.tribunal.rounds for role in rnd.scores]
    seen += [rv.role for rv in r.tribunal.reviews]
    return in_order(seen)


def stance_cell(claim: ReportClaim) -> str:
    """The Stance column: the label and what judged it."""
    label = claim.stance
    if not label:
        return "not checked"
    by = claim.stance_by
    return f"{label} ({by})" if by else str(label)


def verified_cell(claim: ReportClaim) -> str:
    """The verifier's ✓/✗, and a human's verdict on a disputed claim beside it."""
    mark = "✓" if claim.verified else "✗"
    human = claim.human_verdict
    return f"{mark} (human: {md_text(human)})" if human else mark


def render_markdown(report: Report | Mapping[str, Any]) -> str:
    r = as_report(report)
    t = r.tribunal
    active = r.active_claims
    lines = [
        f"# SOVEREIGN: {md_cell(r.title)}",
        "",
        "SOVEREIGN Research Kernel",
        "",
        "Autonomous draft — Owner review required before publication",
        "",
        md_text(_date(r.created_at)),
        "",
        "## Abstract",
        "",
        (_cite_md(r.draft.answer) + " " + _cite_md(r.draft.abstract)).strip(),
        "",
        "## 1 Introduction",
        "",
        f"Analysis of: {md_cell(r.title)}. Research goal: {md_cell(r.goal)}.",
        "",
        "## 2 Methodology",
        "",
        *methodology(r),
        "",
        "## 3 Results",
        "",
        md_text(results_line(r)),
        "",
        "Reviewers: "
        + ", ".join(f"{md_text(rv.role.upper())} {score(rv.score)}" for rv in t.reviews)
        + f" (spread {score(t.spread)}; mean {score(t.score)}). Policy reason: "
        + md_cell(r.policy_reason)
        + ".",
        "",
    ]
    if len(t.rounds) > 1:
        lines += [
            "Rounds: "
            + "; ".join(
                f"round {x.round}: {score(x.score)} → {md_text(x.verdict)}" for x in t.rounds
            )
            + ".",
            "",
        ]
    if r.revision:
        d = r.revision
        lines += [
            (
                f"Revision round {d.round}: {count(len(d.added), 'claim')} added, "
                f"{len(d.dropped)} dropped, {len(d.changed_verdict)} changed verdict. "
                f"{md_cell(d.rationale)}."
            ),
            "",
        ]
        for label, ids in (
            ("Added", d.added),
            ("Dropped", d.dropped),
            ("Changed verdict", d.changed_verdict),
        ):
            if ids:
                lines.append(f"- {label}: {', '.join(md_text(i) for i in ids)}")
        lines.append("")
    issues = [(rv.role, i) for rv in t.reviews for i in rv.issues]
    if issues:
        lines.append("Issues raised:")
        lines.append("")
        for role, issue in issues:
            named = ", ".join(md_text(i) for i in issue.claim_ids)
            lines.append(
                f"- {md_text(role.upper())} [{md_text(issue.severity)}]: "
                f"{md_cell(issue.text)}{f' ({named})' if named else ''}"
            )
        lines.append("")
    lines += ["## 4 Uncertainties", ""]
    lines += [f"- {md_cell(u.message)}" for u in r.uncertainties] or ["- None recorded."]
    lines += [
        "",
        "## 5 Extracted Claims",
        "",
        "| ID | Claim | Evidence | Source | Verified | Confidence | Stance |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in active:
        evidence = c.verifier_evidence or c.evidence
        lines.append(
            f"| {md_cell(c.id)} | {md_cell(c.text)} | {md_cell(evidence, 300)} | "
            f"{md_cell(c.paper_id)} | {verified_cell(c)} | "
            f"{c.confidence:.2f} | {md_cell(stance_cell(c))} |"
        )
    if not active:
        lines.append("| — | No claims were extracted. | — | — | — | — | — |")
    lines += ["", "## References", ""]
    used = [p for p in r.papers if p.used or p.anchor]
    for p in used:
        link = safe_link(p.url, p.id)  # http(s) to arXiv only; else no link at all
        where = f" <{link}>" if link else " (no safe link)"
        lines.append(f"- [{md_cell(p.id)}] {md_cell(p.title)}{where}")
    if not used:
        lines.append("- No paper contributed a claim.")
    return "\n".join(lines) + "\n"


def methodology(r: Report) -> list[str]:
    ctx = r.context
    rounds: dict[int, list[str]] = {}
    for q in r.queries:
        rounds.setdefault(q.round, []).append(q.query)
    chat = {md_text(k): md_text(v) for k, v in r.models.chat.items()}
    engines = sorted(set(chat.values()))
    reviewers = [md_text(role) for role in reviewer_roster(r)]
    tribunal_engines = ", ".join(f"{role.upper()}={chat.get(role, '?')}" for role in reviewers)
    dim = r.models.embedding_dim
    query_text = " ".join(
        f"Round {n}: " + "; ".join(f"'{md_cell(q)}'" for q in qs) + "." for n, qs in rounds.items()
    )
    prompts = ", ".join(md_text(f"{p.id}@{p.version}") for p in r.prompts)
    sig = r.signals
    rules = r.policy_rules
    reading = (
        f"Goal read as: core {', '.join(md_cell(c) for c in sig.core_concepts) or 'none'}; "
        f"asked {', '.join(md_cell(a) for a in sig.asks) or 'nothing quantitative'}; "
        f"all concepts {', '.join(md_cell(c) for c in [*sig.covered_terms, *sig.missing_terms]) or 'none'}. "
        "A claim bears on the goal when a logistic model of its concepts (core in the claim "
        "or its paper, the others in the claim, a number or comparison on what is asked; "
        "fitted on SciFact rationale sentences) gives it a probability at or above its "
        "threshold."
    )
    return [
        reading,
        "",
        (
            f"Multi-query search ({count(ctx['n_queries'], 'parallel query')} per round, "
            f"relevance-sorted, up to {count(ctx['papers_per_query'], 'hit')} each) over "
            f"{md_text(r.search)}. {query_text} "
            f"Hits merged by reciprocal-rank fusion, de-duplicated, kept when their semantic "
            f"relevance to the goal is >= {ctx['min_relevance']}, at most "
            f"{count(ctx['max_papers'], 'paper')}."
        ),
        "",
        (
            f"Semantic index: {md_text(str(r.models.embedding))} (dim={dim}). Claims: "
            f"{'/'.join(engines)} engine, at most {ctx['claims_per_paper']} per paper, each tied "
            f"to its evidence sentence. Verification: {md_text(r.verifier['description'])}. "
            f"Stance: {md_text(r.verifier.get('stance', 'not checked'))}."
        ),
        "",
        (
            f"Tribunal: {len(reviewers)}-role parallel review "
            f"({'/'.join(role.upper() for role in reviewers)}; {tribunal_engines}), "
            f"score = mean of the {number_word(len(reviewers))}; one revision round when the mean < "
            f"{ctx['approve_threshold']} (at most {ctx['max_revisions']}). Policy: AUTO_APPROVE at "
            f"score >= {rules['approve_threshold']} with >= "
            f"{count(rules['min_verified_claims'], 'verified claim')}; REJECT with fewer than "
            f"{count(rules['min_relevant_papers'], 'relevant paper')} or no verified claim; "
            f"else HUMAN_REVIEW. When a reviewer ran offline, AUTO_APPROVE also needs >= "
            f"{count(rules.get('min_relevant_claims', 0), 'verified claim')} that bear on the "
            f"goal, its core concepts and >= {rules.get('min_goal_coverage', 0):.0%} of its "
            f"concepts covered by them"
            f"{', a claim giving what it asks' if rules.get('require_answer') else ''}, and a "
            f"goal that is a specific question the corpus's language covers. Prompts: {prompts}."
        ),
    ]
