"""Search: the local BM25 index against rank_bm25 and bm25s, same documents, same queries.

All three rank the same token lists (``text.analyze`` of each paper's indexed text) for the
same queries and return the top 10; latency is per query, one query at a time, p50. The
comparison runs again on the corpus replicated ``scale`` times under new ids.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
from pydantic import BaseModel

from sovereign_agents.bench.measure import p50, per_call_seconds, timed
from sovereign_agents.corpus import LoadReport
from sovereign_agents.schemas import Paper
from sovereign_agents.search.local import BM25Index, indexed_terms
from sovereign_agents.text import analyze

TOP_K = 10
FIXED_QUERIES = [
    "mixture of experts",
    "vision language model hallucination",
    "speculative decoding",
    "retrieval augmented generation",
    "diffusion model image editing",
    "reinforcement learning from human feedback",
    "long context transformer",
    "parameter efficient fine-tuning lora",
    "3d gaussian splatting",
    "multilingual speech recognition",
    "graph neural network",
    "chain of thought reasoning",
    "knowledge distillation small model",
    "federated learning privacy",
    "video generation temporal consistency",
    "medical image segmentation",
    "quantization of large language models",
    "code generation benchmark",
    "adversarial robustness",
    "autonomous driving planning",
]


class EngineLatency(BaseModel):
    p50_ms: float
    build_s: float


class SearchScale(BaseModel):
    documents: int
    queries: int
    local: EngineLatency
    rank_bm25: EngineLatency | None
    bm25s: EngineLatency | None
    speedup_vs_rank_bm25: float | None
    ratio_vs_bm25s: float | None  # local p50 / bm25s p50: below 1 is faster than bm25s


class SearchBench(BaseModel):
    base: SearchScale
    scaled: SearchScale | None
    scale: int
    speedup_vs_rank_bm25: float | None
    ratio_vs_bm25s: float | None


def bench_queries(papers: list[Paper], n_titles: int = 30) -> list[str]:
    """The fixed topical queries plus titles of papers spread evenly over the corpus."""
    step = max(1, len(papers) // n_titles)
    return FIXED_QUERIES + [p.title for p in papers[::step][:n_titles]]


def replicate(papers: list[Paper], times: int) -> list[Paper]:
    """The corpus ``times`` over; copy k > 0 of a record gets the id ``<id>-r<k>``."""
    out = list(papers)
    for k in range(1, times):
        out.extend(p.model_copy(update={"id": f"{p.id}-r{k}"}) for p in papers)
    return out


def available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _rank_bm25(tokens: list[list[str]], queries: list[str]) -> EngineLatency:
    from rank_bm25 import BM25Okapi

    engine, build = timed(lambda: BM25Okapi(tokens, k1=1.2, b=0.75))

    def search(query: str) -> Any:
        scores = engine.get_scores(analyze(query))
        return np.argsort(-scores)[:TOP_K]

    return EngineLatency(p50_ms=p50(per_call_seconds(search, queries)) * 1e3, build_s=build)


def _bm25s(tokens: list[list[str]], queries: list[str]) -> EngineLatency:
    import bm25s

    def build() -> Any:
        engine = bm25s.BM25(k1=1.2, b=0.75)
        engine.index(tokens, show_progress=False)
        return engine

    engine, seconds = timed(build)
    vocabulary = engine.vocab_dict

    def search(query: str) -> Any:
        terms = [t for t in analyze(query) if t in vocabulary] or [next(iter(vocabulary))]
        return engine.retrieve([terms], k=TOP_K, show_progress=False, n_threads=1)

    return EngineLatency(p50_ms=p50(per_call_seconds(search, queries)) * 1e3, build_s=seconds)


def bench_scale(papers: list[Paper], tokens: list[list[str]], queries: list[str]) -> SearchScale:
    """All three engines build from the same ``tokens`` (so build_s excludes the analysis)."""
    index, build = timed(
        lambda: BM25Index.build(
            papers, sha256="bench", source="bench", report=LoadReport("", ""), tokens=tokens
        )
    )
    local = EngineLatency(
        p50_ms=p50(per_call_seconds(lambda q: index.top(q, TOP_K), queries)) * 1e3,
        build_s=build,
    )
    slow = _rank_bm25(tokens, queries) if available("rank_bm25") else None
    fast = _bm25s(tokens, queries) if available("bm25s") else None
    return SearchScale(
        documents=len(papers),
        queries=len(queries),
        local=_rounded(local),
        rank_bm25=_rounded(slow) if slow else None,
        bm25s=_rounded(fast) if fast else None,
        speedup_vs_rank_bm25=round(slow.p50_ms / local.p50_ms, 1) if slow else None,
        ratio_vs_bm25s=round(local.p50_ms / fast.p50_ms, 2) if fast else None,
    )


def _rounded(latency: EngineLatency) -> EngineLatency:
    return EngineLatency(p50_ms=round(latency.p50_ms, 3), build_s=round(latency.build_s, 3))


def run_search_bench(papers: list[Paper], *, scale: int = 10, max_queries: int = 50) -> SearchBench:
    queries = bench_queries(papers)[:max_queries]
    tokens = [indexed_terms(p) for p in papers]
    base = bench_scale(papers, tokens, queries)
    scaled = None
    if scale > 1:
        scaled = bench_scale(replicate(papers, scale), tokens * scale, queries[:20])
    return SearchBench(
        base=base,
        scaled=scaled,
        scale=scale,
        speedup_vs_rank_bm25=base.speedup_vs_rank_bm25,
        ratio_vs_bm25s=base.ratio_vs_bm25s,
    )
