"""index: merge the round's hits, embed them beside the goal, keep the relevant top papers."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings
from langgraph.runtime import Runtime
from langgraph.types import Send

from sovereign_agents.context import Context
from sovereign_agents.embeddings import (
    LSA_SAMPLE,
    LSAEmbeddings,
    corpus_lsa,
    cosine_to,
    describe_embeddings,
    embedding_step,
    record_embeddings,
    resolve_embeddings,
)
from sovereign_agents.http_limits import http_limits
from sovereign_agents.nodes.common import context_of
from sovereign_agents.nodes.dual import dual_node
from sovereign_agents.schemas import Paper, RankedPaper, SearchHit, Uncertainty
from sovereign_agents.search import search_backend
from sovereign_agents.signals import goal_weights, stemmed_terms, weighted_share
from sovereign_agents.state import ExtractTask, ResearchState
from sovereign_agents.steps import Body
from sovereign_agents.text import goal_terms
from sovereign_agents.tracing import emit
from sovereign_agents.wording import count

if TYPE_CHECKING:
    import numpy as np

RRF_K = 60  # reciprocal-rank fusion constant (Cormack et al., 2009)


def fuse(hits: list[SearchHit]) -> tuple[dict[str, Paper], dict[str, float], dict[str, list[str]]]:
    """Reciprocal-rank fusion of the round's queries: papers, fused scores, finding queries."""
    papers: dict[str, Paper] = {}
    scores: dict[str, float] = defaultdict(float)
    queries: dict[str, list[str]] = defaultdict(list)
    for hit in hits:
        papers.setdefault(hit.paper.id, hit.paper)
        scores[hit.paper.id] += 1.0 / (RRF_K + hit.rank)
        queries[hit.paper.id].append(hit.query)
    return papers, dict(scores), dict(queries)


def embedder(context: Context, texts: list[str]) -> tuple[Embeddings, list[Uncertainty]]:
    """The configured embeddings; LSA is fitted on the corpus (local search) or on the texts."""
    spec = resolve_embeddings(
        context.models.embeddings, context.models.llm_base_url, http_limits(context, "embeddings")
    )
    if not isinstance(spec, str):
        return spec, []
    backend = search_backend(context)
    if hasattr(backend, "index"):  # the local corpus: LSA fitted on the whole corpus
        index = backend.index
        # fitted on at most LSA_SAMPLE papers of the corpus; only on a cache miss
        texts_of = lambda: [p.text for p in index.sample(LSA_SAMPLE)]  # noqa: E731
        healed: list[str] = []
        model = corpus_lsa(
            index.sha256, texts_of, context.models.lsa_dim, context.cache_dir, healed
        )
        return model, [Uncertainty(kind="fallback", node="index", message=m) for m in healed]
    return LSAEmbeddings(texts, dim=context.models.lsa_dim), []


def relevance_scores(
    context: Context, goal: str, papers: list[Paper]
) -> Body[tuple[np.ndarray, dict[str, Any], list[Uncertainty]]]:
    texts = [p.text for p in papers]
    model, notes = embedder(context, [goal, *texts])
    try:
        vectors, query = yield embedding_step(model, texts, goal)
        scores = cosine_to(query, vectors)
        record_embeddings(model, [goal, *texts], [query, *vectors])
    except Exception as exc:  # a failing embedding service degrades to LSA
        fallback = LSAEmbeddings([goal, *texts], dim=context.models.lsa_dim)
        notes.append(
            Uncertainty(
                kind="fallback",
                node="index",
                message=f"embeddings {describe_embeddings(model)[0]} failed ({exc}); "
                "fell back to LSA fitted on the retrieved papers",
            )
        )
        model = fallback
        query = model.embed_query(goal)
        scores = cosine_to(query, model.embed_documents(texts))
    if getattr(model, "pooled", False):
        notes.append(
            Uncertainty(
                kind="weak_signal",
                node="index",
                message=f"embeddings {describe_embeddings(model)[0]} came back one vector per token; "
                "they were mean-pooled into one vector per text",
            )
        )
    name, dim = describe_embeddings(model)
    info: dict[str, Any] = {"model": name, "dim": dim or len(query)}
    fitted_on = getattr(model, "fitted_on", None)
    if fitted_on is not None:
        info["fitted_on"] = fitted_on
    return scores, info, notes


@dual_node("index")
def index(state: ResearchState, runtime: Runtime[Context]) -> Body[dict[str, Any]]:
    import numpy as np

    context = context_of(runtime)
    round_ = state.get("revision_round", 0)
    papers, fused, queries = fuse([h for h in state.get("hits", []) if h.round == round_])
    anchor = state.get("anchor")
    if anchor is not None:
        papers.setdefault(anchor.id, anchor)
    already = {p.paper.id for p in state.get("papers", [])}
    candidates = [p for pid, p in papers.items() if pid not in already]
    if not candidates:
        emit({"event": "progress", "node": "index", "message": "no new papers"})
        return {"papers": []}
    semantic, info, notes = yield from relevance_scores(context, state["goal"], candidates)
    weights = state.get("goal_weights") or goal_weights(state["goal"], [p.text for p in candidates])
    terms = goal_terms(state["goal"])
    lexical = np.array([weighted_share(terms, stemmed_terms(p.text), weights) for p in candidates])
    relevance = 0.5 * np.clip(semantic, 0.0, 1.0) + 0.5 * lexical
    top_fused = max(fused.values(), default=1.0)
    position = {p.id: i for i, p in enumerate(candidates)}
    ranked = sorted(
        zip(candidates, relevance, strict=True),
        key=lambda pr: -(0.3 * fused.get(pr[0].id, 0.0) / top_fused + 0.7 * float(pr[1])),
    )
    budget = context.search.max_papers if round_ == 0 else max(1, context.search.max_papers // 2)
    selected: list[RankedPaper] = []
    for paper, score in ranked:
        is_anchor = anchor is not None and paper.id == anchor.id
        if not is_anchor and (score < context.search.min_relevance or len(selected) >= budget):
            continue
        selected.append(
            RankedPaper(
                paper=paper,
                round=round_,
                fused_score=round(fused.get(paper.id, 0.0), 5),
                relevance=round(float(score), 4),
                queries=queries.get(paper.id, []),
                semantic=round(float(semantic[position[paper.id]]), 4),
                lexical=round(float(lexical[position[paper.id]]), 4),
                anchor=is_anchor,
            )
        )
    left_out = len(candidates) - len(selected)
    if left_out and not selected:
        notes.append(
            Uncertainty(
                kind="coverage",
                node="index",
                message=f"{count(len(candidates), 'paper')} found in round {round_}, all below the "
                f"relevance floor {context.search.min_relevance} to the goal",
            )
        )
    emit(
        {
            "event": "progress",
            "node": "index",
            "message": f"kept {len(selected)} of {count(len(candidates), 'paper')} found",
        }
    )
    return {"papers": selected, "embedding": info, "goal_weights": weights, "uncertainties": notes}


def fan_out_papers(state: ResearchState) -> list[Send] | str:
    """One ``Send("extract")`` per paper new in this round; straight to verify if none."""
    round_ = state.get("revision_round", 0)
    sends = [
        Send(
            "extract",
            ExtractTask(
                goal=state["goal"],
                paper=p.paper,
                round=round_,
                anchor=p.anchor,
                context_key=state.get("context_key"),
            ),
        )
        for p in state.get("papers", [])
        if p.round == round_
    ]
    return sends or "verify"
