"""The run's measured signals (signals.py), once per round, kept in the state.

The draft node measures the round (the writer reads the signals, the draft's own measures are
added after it writes) and keeps them in the state's ``signals`` channel; the reviewers,
revise, policy and report read them from there (``signals_of``) instead of measuring again.

What is kept is stamped with what it was measured from: the goal and its reading, the round,
its active claims (id, text, paper, verdict, confidence), papers (id, text, relevance, anchor)
and draft, the verifier and ``min_relevance``. A reader whose state or context no longer
matches the stamp (the state was edited between steps: ``sovereign fork --state``, a
sensitivity fork that shuffles the claims; a resume with other knobs) measures afresh rather
than read stale numbers.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sovereign_agents.context import Context
from sovereign_agents.schemas import Draft
from sovereign_agents.signals import RunSignals, measure, with_draft
from sovereign_agents.state import ResearchState, RoundSignals, active_claims
from sovereign_agents.verification.resolve import recorded_verifier


def measure_round(state: ResearchState, context: Context, draft: Draft | None) -> RunSignals:
    """Measure the current round (with ``draft``'s own measures when given)."""
    return measure(
        state["goal"],
        active_claims(state),
        state.get("papers", []),
        threshold=recorded_verifier(state, context).threshold,
        min_relevance=context.search.min_relevance,
        round=state.get("revision_round", 0),
        draft=draft,
        analysis=state.get("goal_analysis"),
    )


def basis(state: ResearchState, context: Context, draft: Draft | None) -> str:
    """The stamp: a hash of everything ``measure_round`` reads."""
    analysis = state.get("goal_analysis")
    verifier = recorded_verifier(state, context)
    inputs: dict[str, Any] = {
        "goal": state["goal"],
        "analysis": analysis.model_dump(mode="json") if analysis is not None else None,
        "round": state.get("revision_round", 0),
        "claims": [
            [c.id, c.text, c.paper_id, c.verified, c.confidence] for c in active_claims(state)
        ],
        "papers": [
            [p.paper.id, p.paper.text, p.relevance, p.anchor] for p in state.get("papers", [])
        ],
        "draft": draft.model_dump(mode="json") if draft is not None else None,
        "verifier": [verifier.name, verifier.threshold],
        "min_relevance": context.search.min_relevance,
    }
    text = json.dumps(inputs, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def kept(state: ResearchState, context: Context, signals: RunSignals, draft: Draft) -> RoundSignals:
    """The draft node's signals, with the draft's own measures, stamped for the state."""
    active = active_claims(state)
    return RoundSignals(
        basis=basis(state, context, draft), signals=with_draft(signals, draft, active)
    )


def signals_of(state: ResearchState, context: Context) -> RunSignals:
    """The current round's signals: the kept ones while they match the state, else measured."""
    stored = state.get("signals")
    draft = state.get("draft")
    if isinstance(stored, RoundSignals) and stored.basis == basis(state, context, draft):
        return stored.signals
    return measure_round(state, context, draft)
