"""The report: ``report.json`` (the contract other tools read) and ``report.md`` (for people).

Everything in Methodology and Uncertainties is generated from what this run did.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from sovereign_agents.context import Context
from sovereign_agents.engines import is_extractive
from sovereign_agents.escaping import md_cell, md_text, safe_link
from sovereign_agents.roles import in_order, reviewer_names
from sovereign_agents.schemas import Claim, Draft, TribunalRound, Uncertainty
from sovereign_agents.signals import RunSignals
from sovereign_agents.stance_model import load_stance_model
from sovereign_agents.state import ResearchState
from sovereign_agents.verify import opposing_claims
from sovereign_agents.wording import count, number_word, score

REPORT_SCHEMA_VERSION = "1"


class ReportPaper(BaseModel):
    id: str
    version: int | None
    title: str
    url: str
    relevance: float
    round: int
    anchor: bool
    used: bool = Field(description="at least one active claim comes from it")


class ReportClaim(BaseModel):
    id: str
    text: str
    paper_id: str
    evidence: str
    evidence_start: int | None
    evidence_end: int | None
    verified: bool
    confidence: float
    verifier_evidence: str | None = Field(
        default=None, description="the source sentence(s) the verifier found best"
    )
    stance: str | None = Field(
        default=None, description="SUPPORT / CONTRADICT / NOT_ENOUGH_INFO; None: not checked"
    )
    stance_quote: str | None = None
    stance_by: str | None = Field(
        default=None, description="what judged the stance (stance model or 'judge <model>')"
    )
    source_sha256: str | None = Field(
        default=None, description="sha256 of the source text the claim was checked against"
    )
    paper_version: int | None = Field(default=None, description="the arXiv version checked")
    round: int
    engine: str
    dropped_in_round: int | None
    drop_reason: str | None
    human_verdict: str | None = None


class ReportReview(BaseModel):
    role: str
    score: float
    issues: list[dict[str, Any]]
    rationale: str
    engine: str


class ReportTribunal(BaseModel):
    score: float
    spread: float
    verdict: str
    revision_round: int
    reviews: list[ReportReview]
    rounds: list[dict[str, Any]]


class RevisionDiff(BaseModel):
    round: int
    queries: list[str]
    added: list[str]
    dropped: list[str]
    changed_verdict: list[str]
    rationale: str


class Report(BaseModel):
    schema_version: str = REPORT_SCHEMA_VERSION
    run_id: str
    created_at: str
    goal: str
    title: str
    anchor_paper: str | None
    queries: list[dict[str, Any]]
    papers: list[ReportPaper]
    claims: list[ReportClaim]
    draft: dict[str, Any]
    tribunal: ReportTribunal
    revision: RevisionDiff | None
    verdict: str
    policy: str
    policy_reason: str
    policy_rules: dict[str, Any]
    verifier: dict[str, Any]
    prompts: list[dict[str, Any]]
    models: dict[str, Any]
    search: str
    signals: dict[str, Any]
    uncertainties: list[dict[str, Any]]
    model_calls: int
    context: dict[str, Any]


# ------------------------------------------------------------------------------------------
# build


def build_report(
    state: ResearchState,
    context: Context,
    *,
    signals: RunSignals,
    search_description: str,
    verifier: Any,
) -> dict[str, Any]:
    anchor = state.get("anchor")
    claims = state.get("claims", [])
    active = [c for c in claims if c.active]
    used_papers = {c.paper_id for c in active}
    tribunal: list[TribunalRound] = state.get("tribunal", [])
    last = tribunal[-1]
    decision = state["decision"]
    chat = {p["role"]: p["used_by"] for p in state.get("prompts", [])}
    embedding = state.get("embedding") or {"model": "none (no papers)", "dim": None}
    report = Report(
        run_id=state.get("run_id") or "",
        created_at=state.get("created_at", ""),
        goal=state["goal"],
        title=anchor.title if anchor else state["goal"],
        anchor_paper=anchor.id if anchor else None,
        queries=[q.model_dump(mode="json") for q in state.get("query_log", [])],
        papers=[
            ReportPaper(
                id=p.paper.id,
                version=p.paper.version,
                title=p.paper.title,
                url=p.paper.link,
                relevance=p.relevance,
                round=p.round,
                anchor=p.anchor,
                used=p.paper.id in used_papers,
            )
            for p in state.get("papers", [])
        ],
        claims=[_claim(c) for c in claims],
        draft=state["draft"].model_dump(mode="json"),
        tribunal=ReportTribunal(
            score=last.score,
            spread=last.spread,
            verdict=last.verdict.value,
            revision_round=state.get("revision_round", 0),
            reviews=[
                ReportReview(
                    role=r.role,
                    score=r.score,
                    issues=[i.model_dump(mode="json") for i in r.issues],
                    rationale=r.rationale,
                    engine=r.engine,
                )
                for r in last.reviews
            ],
            rounds=[
                {
                    "round": t.round,
                    "score": t.score,
                    "spread": t.spread,
                    "verdict": t.verdict.value,
                    "scores": {r.role: r.score for r in t.reviews},
                }
                for t in tribunal
            ],
        ),
        revision=_revision_diff(state, tribunal),
        verdict=last.verdict.value,
        policy=decision.policy.value,
        policy_reason=decision.reason,
        policy_rules={
            **decision.rules,
            "approve_threshold_tribunal": context.approve_threshold,
            "max_revisions": context.max_revisions,
        },
        verifier=verifier_record(verifier),
        prompts=list(state.get("prompts", [])),
        models={
            "chat": chat,
            "embedding": embedding.get("model"),
            "embedding_dim": embedding.get("dim"),
            "embedding_detail": embedding,
        },
        search=search_description,
        signals=signals.model_dump(mode="json"),
        uncertainties=[u.model_dump(mode="json") for u in uncertainties(state, context, signals)],
        model_calls=state.get("model_calls", 0),
        context=context.describe(),
    )
    return report.model_dump(mode="json")


def verifier_record(verifier: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": verifier.name,
        "threshold": verifier.threshold,
        "description": verifier.describe(),
    }
    if hasattr(verifier, "ngram_range"):
        record["ngram_range"] = list(verifier.ngram_range)
    base = getattr(verifier, "base", verifier)
    params = getattr(base, "params", None)
    if params is not None:
        prov = params.provenance
        record["params"] = {
            "file": "hybrid_v1.json",
            "fitted": prov.get("date"),
            "data_sha256": prov.get("data", {}).get("claims_sha256"),
            "evidence_threshold": params.evidence_threshold,
            "held_out": prov.get("metrics", {}).get("held_out"),
        }
    stance = getattr(base, "stance", None)
    if stance is not None:
        record["stance_model"] = {
            "name": stance.name,
            "file": f"{stance.name}.json",
            "fitted": stance.provenance.get("date"),
            "threshold": stance.threshold,
            "held_out": stance.provenance.get("metrics", {}).get("held_out"),
        }
    judge = getattr(verifier, "judge", None)
    if judge is not None:
        record["stance"] = f"judge {judge.name}" + (
            f" (where it fails: {stance.describe()})" if stance is not None else ""
        )
    else:
        record["stance"] = stance.describe() if stance is not None else "not checked"
    return record


def stance_cell(claim: dict[str, Any]) -> str:
    """The Stance column: the label and what judged it."""
    label = claim.get("stance")
    if not label:
        return "not checked"
    by = claim.get("stance_by")
    return f"{label} ({by})" if by else str(label)


def _claim(c: Claim) -> ReportClaim:
    return ReportClaim(
        id=c.id,
        text=c.text,
        paper_id=c.paper_id,
        evidence=c.evidence,
        evidence_start=c.evidence_start,
        evidence_end=c.evidence_end,
        verified=c.verified,
        confidence=round(c.confidence, 4),
        verifier_evidence=c.verification.evidence if c.verification else None,
        source_sha256=c.verification.source_sha256 if c.verification else None,
        paper_version=c.verification.paper_version if c.verification else None,
        stance=c.verification.stance if c.verification else None,
        stance_quote=c.verification.stance_quote if c.verification else None,
        stance_by=c.verification.stance_by if c.verification else None,
        round=c.round,
        engine=c.engine,
        dropped_in_round=c.dropped_in_round,
        human_verdict=c.human_verdict,
        drop_reason=c.drop_reason,
    )


def _revision_diff(state: ResearchState, tribunal: list[TribunalRound]) -> RevisionDiff | None:
    plan = state.get("revision")
    if plan is None or len(tribunal) < 2:
        return None
    before, after = tribunal[-2].claims, tribunal[-1].claims
    return RevisionDiff(
        round=plan.round,
        queries=plan.queries,
        added=sorted(set(after) - set(before)),
        dropped=sorted(set(before) - set(after)),
        changed_verdict=sorted(
            cid for cid in set(before) & set(after) if before[cid] != after[cid]
        ),
        rationale=plan.rationale,
    )


def stance_note(by: str, tally: str) -> str:
    """What one stance judge said, and how far it can be trusted."""
    if by.startswith("judge"):
        return f"Stance checked by an entailment {by} for {tally}; a judge model can be wrong."
    model = load_stance_model()
    held = model.provenance.get("metrics", {}).get("held_out", {})
    measured = (
        f"3-way accuracy {held['accuracy']:.2f} on {held.get('pairs', '?')} held-out SciFact "
        f"pairs, {held.get('contradicted_but_verified', 0):.0%} of contradicted pairs still "
        "called SUPPORT"
        if model.name == by and "accuracy" in held
        else "accuracy unmeasured"
    )
    return (
        f"Stance judged offline by the fitted stance model {by} for {tally}. It reads lexical "
        f"cues (negation, direction, antonyms, hedges, numbers), not meaning ({measured}); "
        "a claim is verified only when its evidence is judged SUPPORT."
    )


def verifier_notes(state: ResearchState, context: Context) -> list[Uncertainty]:
    """What the verifier that ran can and cannot say, and claims of different papers that
    look like they oppose each other."""
    active = [c for c in state.get("claims", []) if c.active]
    notes: list[Uncertainty] = []
    if context.verifier == "tfidf":
        notes.append(
            Uncertainty(
                kind="weak_signal",
                message=(
                    "TF-IDF cosine is lexical overlap, not entailment: a verified claim is worded "
                    "like its source, which does not prove the source supports it; stance was "
                    "not checked."
                ),
            )
        )
    else:
        verdicts = [c.verification for c in active if c.verification]
        checked = [v for v in verdicts if v.stance]
        if not checked:
            notes.append(
                Uncertainty(
                    kind="weak_signal",
                    message=(
                        "Stance was not checked (no chat model for the entailment judge, no "
                        "stance model): the hybrid verifier finds the evidence sentence and "
                        "scores it with lexical, semantic and negation/number cues fitted on "
                        "SciFact (biomedical claims), which catch few contradictions; a verified "
                        "claim may be contradicted by its source."
                    ),
                )
            )
        for by in sorted({str(v.stance_by) for v in checked}):
            labels = [str(v.stance) for v in checked if str(v.stance_by) == by]
            counts = {k: labels.count(k) for k in ("SUPPORT", "CONTRADICT", "NOT_ENOUGH_INFO")}
            tally = (
                f"{len(labels)} of {len(verdicts)} claims: {counts['SUPPORT']} SUPPORT, "
                f"{counts['CONTRADICT']} CONTRADICT, {counts['NOT_ENOUGH_INFO']} NOT_ENOUGH_INFO"
            )
            notes.append(Uncertainty(kind="weak_signal", message=stance_note(by, tally)))
    for a, b, cues in opposing_claims(active):
        notes.append(
            Uncertainty(
                kind="weak_signal",
                message=(
                    f"Claims {a.id} ({a.paper_id}) and {b.id} ({b.paper_id}) are on the same "
                    f"topic but may oppose each other ({', '.join(cues)} mismatch)."
                ),
            )
        )
    return notes


def uncertainties(state: ResearchState, context: Context, signals: RunSignals) -> list[Uncertainty]:
    """What this run recorded going wrong, plus the weak signals measured at the end."""
    notes = [
        Uncertainty(kind="config", message=f"Goal: {flag[0].upper()}{flag[1:]}.")
        for flag in signals.goal_flags
    ]
    notes += list(state.get("uncertainties", []))
    offline = ("extractor", *reviewer_names())  # the roles this note speaks of
    if all(is_extractive(context.llm_for(r)) for r in offline):
        notes.append(
            Uncertainty(
                kind="config",
                message=(
                    "No chat model was configured: the extractive engine ran every role. Claims "
                    "are the findings stated in abstract sentences (their discourse frame "
                    "dropped), so verification against the same abstract is close to "
                    "self-similarity; reviewer scores are computed from measured signals (which "
                    "claims bear on the goal's concepts, whether its ask is answered) rather "
                    "than judgement."
                ),
            )
        )
    notes += verifier_notes(state, context)
    if signals.grey_zone_ids:
        notes.append(
            Uncertainty(
                kind="weak_signal",
                message=(
                    f"{count(len(signals.grey_zone_ids), 'claim')} "
                    f"{'lies' if len(signals.grey_zone_ids) == 1 else 'lie'} within 0.05 of the "
                    f"{signals.threshold} threshold: {', '.join(signals.grey_zone_ids)}"
                ),
            )
        )
    if signals.single_source_ids:
        notes.append(
            Uncertainty(
                kind="weak_signal",
                message=(
                    f"{len(signals.single_source_ids)} of {count(signals.n_claims, 'claim')} "
                    f"{'rests' if len(signals.single_source_ids) == 1 else 'rest'} on a single "
                    "paper that no other retrieved paper echoes."
                ),
            )
        )
    if signals.missing_terms:
        notes.append(
            Uncertainty(
                kind="coverage",
                message=(
                    "No verified claim that bears on the goal covers these of its concepts: "
                    + ", ".join(signals.missing_terms)
                    + "."
                ),
            )
        )
    if signals.asks and not signals.answering_ids:
        notes.append(
            Uncertainty(
                kind="coverage",
                message="The goal asks for "
                + ", ".join(signals.asks)
                + "; no verified claim that bears on the goal reports it.",
            )
        )
    if signals.off_goal_ids:
        notes.append(
            Uncertainty(
                kind="weak_signal",
                message=(
                    f"{len(signals.off_goal_ids)} of {signals.n_claims} claims do not bear on "
                    "the goal (relevance below its threshold); they are listed but are not "
                    "evidence for the answer."
                ),
            )
        )
    weak = signals.n_papers - signals.n_relevant_papers
    if signals.n_papers and weak > 0:
        notes.append(
            Uncertainty(
                kind="coverage",
                message=(
                    f"{count(weak, 'kept paper')} {'is' if weak == 1 else 'are'} only weakly "
                    f"related to the goal (relevance < {context.min_relevance})."
                ),
            )
        )
    if not state.get("papers"):
        notes.append(Uncertainty(kind="coverage", message="The search found no relevant paper."))
    failed = [q for q in state.get("query_log", []) if q.error]
    if failed:
        notes.append(
            Uncertainty(
                kind="failure",
                message=(
                    f"{len(failed)} of {count(len(state.get('query_log', [])), 'search query')} "
                    "failed."
                ),
            )
        )
    last = state["tribunal"][-1]
    if last.spread >= 3:
        notes.append(
            Uncertainty(
                kind="weak_signal",
                message=(
                    f"The reviewers disagree: their scores spread over {score(last.spread)} points "
                    "(see Results); the mean hides it."
                ),
            )
        )
    # one line per distinct message, first occurrence first
    seen: dict[str, Uncertainty] = {}
    for note in notes:
        seen.setdefault(note.message, note)
    return list(seen.values())


# ------------------------------------------------------------------------------------------
# markdown


def _date(created_at: str) -> str:
    try:
        moment = datetime.fromisoformat(created_at)
    except ValueError:
        return created_at
    return f"{moment:%B} {moment.day}, {moment.year}"


def _cite(sentences: list[dict[str, Any]]) -> str:
    parts = []
    for s in sentences:
        ids = "".join(f" [{cid}]" for cid in s["claim_ids"])
        parts.append(f"{s['text'].rstrip()}{ids}")
    return " ".join(parts)


def _cite_md(sentences: list[dict[str, Any]]) -> str:
    """The draft's sentences for report.md: each one's text and claim ids escaped, so a
    writer's answer cannot add a heading, a table, a link or HTML."""
    parts = []
    for s in sentences:
        ids = "".join(f" [{md_text(cid)}]" for cid in s["claim_ids"])
        parts.append(f"{md_text(s['text'])}{ids}")
    return " ".join(parts)


def results_line(r: Mapping[str, Any]) -> str:
    """The Results line, plain text: report.md escapes it, report.html shows it as text."""
    t = r["tribunal"]
    active = [c for c in r["claims"] if c["dropped_in_round"] is None]
    verified = sum(1 for c in active if c["verified"])
    return (
        f"{count(len(r['papers']), 'paper')} retrieved. {count(len(active), 'claim')} "
        f"extracted, {verified} verified. Tribunal: {score(t['score'])}/10 → {t['verdict']} "
        f"(revision_round={t['revision_round']}). Policy: {r['policy']}."
    )


def reviewer_roster(r: Mapping[str, Any]) -> list[str]:
    """The reviewer roles that sat in this run, in the registry's order (roles.py; a role
    the registry of this process lacks comes last)."""
    seen = [role for rnd in r["tribunal"]["rounds"] for role in rnd["scores"]]
    seen += [rv["role"] for rv in r["tribunal"]["reviews"]]
    return in_order(seen)


def render_markdown(r: dict[str, Any]) -> str:
    t = r["tribunal"]
    active = [c for c in r["claims"] if c["dropped_in_round"] is None]
    draft = r["draft"]
    lines = [
        f"# SOVEREIGN: {md_cell(r['title'])}",
        "",
        "SOVEREIGN Research Kernel",
        "",
        "Autonomous draft — Owner review required before publication",
        "",
        md_text(_date(r["created_at"])),
        "",
        "## Abstract",
        "",
        (_cite_md(draft["answer"]) + " " + _cite_md(draft["abstract"])).strip(),
        "",
        "## 1 Introduction",
        "",
        f"Analysis of: {md_cell(r['title'])}. Research goal: {md_cell(r['goal'])}.",
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
        + ", ".join(f"{md_text(rv['role'].upper())} {score(rv['score'])}" for rv in t["reviews"])
        + f" (spread {score(t['spread'])}; mean {score(t['score'])}). Policy reason: "
        + md_cell(r["policy_reason"])
        + ".",
        "",
    ]
    if len(t["rounds"]) > 1:
        lines += [
            "Rounds: "
            + "; ".join(
                f"round {x['round']}: {score(x['score'])} → {md_text(x['verdict'])}"
                for x in t["rounds"]
            )
            + ".",
            "",
        ]
    if r["revision"]:
        d = r["revision"]
        lines += [
            (
                f"Revision round {d['round']}: {count(len(d['added']), 'claim')} added, "
                f"{len(d['dropped'])} dropped, {len(d['changed_verdict'])} changed verdict. "
                f"{md_cell(d['rationale'])}."
            ),
            "",
        ]
        for label, ids in (
            ("Added", d["added"]),
            ("Dropped", d["dropped"]),
            ("Changed verdict", d["changed_verdict"]),
        ):
            if ids:
                lines.append(f"- {label}: {', '.join(md_text(i) for i in ids)}")
        lines.append("")
    issues = [(rv["role"], i) for rv in t["reviews"] for i in rv["issues"]]
    if issues:
        lines.append("Issues raised:")
        lines.append("")
        for role, issue in issues:
            ids = ", ".join(md_text(i) for i in issue["claim_ids"])
            lines.append(
                f"- {md_text(role.upper())} [{md_text(issue['severity'])}]: "
                f"{md_cell(issue['text'])}{f' ({ids})' if ids else ''}"
            )
        lines.append("")
    lines += ["## 4 Uncertainties", ""]
    lines += [f"- {md_cell(u['message'])}" for u in r["uncertainties"]] or ["- None recorded."]
    lines += [
        "",
        "## 5 Extracted Claims",
        "",
        "| ID | Claim | Evidence | Source | Verified | Confidence | Stance |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in active:
        evidence = c.get("verifier_evidence") or c["evidence"]
        lines.append(
            f"| {md_cell(c['id'])} | {md_cell(c['text'])} | {md_cell(evidence, 300)} | "
            f"{md_cell(c['paper_id'])} | {verified_cell(c)} | "
            f"{c['confidence']:.2f} | {md_cell(stance_cell(c))} |"
        )
    if not active:
        lines.append("| — | No claims were extracted. | — | — | — | — | — |")
    lines += ["", "## References", ""]
    used = [p for p in r["papers"] if p["used"] or p["anchor"]]
    for p in used:
        link = safe_link(p["url"], p["id"])  # http(s) to arXiv only; else no link at all
        where = f" <{link}>" if link else " (no safe link)"
        lines.append(f"- [{md_cell(p['id'])}] {md_cell(p['title'])}{where}")
    if not used:
        lines.append("- No paper contributed a claim.")
    return "\n".join(lines) + "\n"


def verified_cell(c: dict[str, Any]) -> str:
    """The verifier's ✓/✗, and a human's verdict on a disputed claim beside it."""
    mark = "✓" if c["verified"] else "✗"
    human = c.get("human_verdict")
    return f"{mark} (human: {md_text(human)})" if human else mark


def methodology(r: dict[str, Any]) -> list[str]:
    ctx = r["context"]
    rounds: dict[int, list[str]] = {}
    for q in r["queries"]:
        rounds.setdefault(q["round"], []).append(q["query"])
    chat = {md_text(k): md_text(v) for k, v in r["models"]["chat"].items()}
    engines = sorted(set(chat.values()))
    reviewers = [md_text(role) for role in reviewer_roster(r)]
    tribunal_engines = ", ".join(f"{role.upper()}={chat.get(role, '?')}" for role in reviewers)
    dim = r["models"]["embedding_dim"]
    query_text = " ".join(
        f"Round {n}: " + "; ".join(f"'{md_cell(q)}'" for q in qs) + "." for n, qs in rounds.items()
    )
    prompts = ", ".join(md_text(f"{p['id']}@{p['version']}") for p in r["prompts"])
    sig = r["signals"]
    rules = r["policy_rules"]
    reading = (
        f"Goal read as: core {', '.join(md_cell(c) for c in sig['core_concepts']) or 'none'}; "
        f"asked {', '.join(md_cell(a) for a in sig['asks']) or 'nothing quantitative'}; "
        f"all concepts {', '.join(md_cell(c) for c in [*sig['covered_terms'], *sig['missing_terms']]) or 'none'}. "
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
            f"{md_text(r['search'])}. {query_text} "
            f"Hits merged by reciprocal-rank fusion, de-duplicated, kept when their semantic "
            f"relevance to the goal is >= {ctx['min_relevance']}, at most "
            f"{count(ctx['max_papers'], 'paper')}."
        ),
        "",
        (
            f"Semantic index: {md_text(r['models']['embedding'])} (dim={dim}). Claims: "
            f"{'/'.join(engines)} engine, at most {ctx['claims_per_paper']} per paper, each tied "
            f"to its evidence sentence. Verification: {md_text(r['verifier']['description'])}. "
            f"Stance: {md_text(r['verifier'].get('stance', 'not checked'))}."
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


def draft_text(draft: Draft) -> str:
    """The draft as plain text with its citations (what LLM reviewers read)."""
    answer = _cite([s.model_dump() for s in draft.answer])
    abstract = _cite([s.model_dump() for s in draft.abstract])
    return f"Answer: {answer}\nAbstract: {abstract}"
