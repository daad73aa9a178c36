"""``sovereign search``: rank a local corpus for one query or a batch, as the graph ranks it.

One query prints a table (or JSON with ``--json``). ``--queries FILE.jsonl`` reads one
``{"id", "query"}`` object per line and writes one ``{"id", "ranked": [paper ids]}`` per line
to stdout, in input order, so the output can be fed to any IR evaluation tool.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from sovereign_agents.cli.common import out, reported
from sovereign_agents.errors import InputError
from sovereign_agents.escaping import one_line, rich_safe
from sovereign_agents.wording import count


def search_command(
    query: Annotated[str | None, typer.Argument(help="the query (omit with --queries)")] = None,
    corpus: Annotated[
        Path | None,
        typer.Option(help="arXiv metadata JSON Lines (Kaggle or daily-listing format)"),
    ] = None,
    k: Annotated[int, typer.Option("--k", help="papers per query")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    queries: Annotated[
        Path | None,
        typer.Option(help='JSON Lines of {"id", "query"}: one {"id", "ranked"} line out per query'),
    ] = None,
    bm25: Annotated[
        bool, typer.Option("--bm25", help="plain BM25 instead of the default re-ranker")
    ] = False,
) -> None:
    """Rank papers of a local corpus as the research graph does: BM25 and RM3 candidates
    re-ranked by fitted trees (score: probability of relevance), or plain BM25."""
    from rich.table import Table

    from sovereign_agents.cli.search_batch import BatchResult, read_queries
    from sovereign_agents.search.local import LocalCorpusSearch

    with reported():
        if corpus is None:
            raise InputError("--corpus PATH is required (a local arXiv metadata file)")
        if (query is None) == (queries is None):
            raise InputError("give exactly one of a QUERY or --queries FILE.jsonl")
        if k < 1:
            raise InputError("--k must be >= 1")
        if query is not None and not query.strip():
            raise InputError("the query is empty")
        batch = read_queries(queries) if queries is not None else []
        searcher = LocalCorpusSearch(corpus, rerank=not bm25)

    if queries is not None:
        for item in batch:
            ranked = [paper.id for paper, _ in searcher.search(item.query, k)]
            print(BatchResult(id=item.id, ranked=ranked).model_dump_json())
        return

    assert query is not None
    hits = searcher.search(query, k)
    if as_json:
        rows = [
            {"rank": rank, "id": p.id, "score": round(score, 4), "title": p.title}
            for rank, (p, score) in enumerate(hits, start=1)
        ]
        print(json.dumps({"query": query, "corpus": str(corpus), "results": rows}, indent=2))
        return
    if not hits:
        out.print(f"no papers match: {rich_safe(one_line(query))}")
        return
    table = Table(
        title=f"{count(len(hits), 'paper')} for: {rich_safe(one_line(query))}",
        title_justify="left",
    )
    table.add_column("#", justify="right")
    table.add_column("id")
    table.add_column("score", justify="right")
    table.add_column("title")
    for rank, (paper, score) in enumerate(hits, start=1):
        table.add_row(str(rank), rich_safe(paper.id), f"{score:.3f}", rich_safe(paper.title))
    out.print(table)
