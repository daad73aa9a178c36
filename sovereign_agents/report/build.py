"""Build the typed report (schema.py) from a finished run's state."""

from __future__ import annotations

from sovereign_agents.context import Context
from sovereign_agents.report.schema import (
    Report,
    ReportClaim,
    ReportModels,
    ReportPaper,
    ReportReview,
    ReportRound,
    ReportTribunal,
    RevisionDiff,
)
from sovereign_agents.report.uncertainty import uncertainties
from sovereign_agents.schemas import PromptRecord, TribunalRound
from sovereign_agents.signals import RunSignals
from sovereign_agents.state import ResearchState
from sovereign_agents.verification import VerifierRecord


def build_report(
    state: ResearchState,
    context: Context,
    *,
    signals: RunSignals,
    search_description: str,
    verifier: VerifierRecord,
) -> Report:
    anchor = state.get("anchor")
    claims = state.get("claims", [])
    active = [c for c in claims if c.active]
    used_papers = {c.paper_id for c in active}
    tribunal: list[TribunalRound] = state.get("tribunal", [])
    last = tribunal[-1]
    decision = state["decision"]
    chat = {p["role"]: p["used_by"] for p in state.get("prompts", [])}
    embedding = state.get("embedding") or {"model": "none (no papers)", "dim": None}
    return Report(
        run_id=state.get("run_id") or "",
        created_at=state.get("created_at", ""),
        goal=state["goal"],
        title=anchor.title if anchor else state["goal"],
        anchor_paper=anchor.id if anchor else None,
        queries=list(state.get("query_log", [])),
        papers=[
            ReportPaper(
                source=p.paper.source,
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
        claims=[ReportClaim.model_validate(c) for c in claims],
        draft=state["draft"],
        tribunal=ReportTribunal(
            score=last.score,
            spread=last.spread,
            verdict=last.verdict.value,
            revision_round=state.get("revision_round", 0),
            reviews=[ReportReview.model_validate(r, from_attributes=True) for r in last.reviews],
            rounds=[
                ReportRound(
                    round=t.round,
                    score=t.score,
                    spread=t.spread,
                    verdict=t.verdict.value,
                    scores={r.role: r.score for r in t.reviews},
                )
                for t in tribunal
            ],
        ),
        revision=_revision_diff(state, tribunal),
        verdict=last.verdict.value,
        policy=decision.policy.value,
        policy_reason=decision.reason,
        policy_rules={
            **decision.rules,
            "approve_threshold_tribunal": context.tribunal.approve_threshold,
            "max_revisions": context.tribunal.max_revisions,
        },
        verifier=verifier.report_dict(),
        prompts=[PromptRecord.model_validate(p) for p in state.get("prompts", [])],
        models=ReportModels(
            chat=chat,
            embedding=embedding.get("model"),
            embedding_dim=embedding.get("dim"),
            embedding_detail=embedding,
        ),
        search=search_description,
        signals=signals,
        uncertainties=uncertainties(state, context, signals, verifier),
        model_calls=state.get("model_calls", 0),
        context=context.describe(),
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
