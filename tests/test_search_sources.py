"""Search sources: the registry, and a second source added with one call.

The toy source below lives in this file, not in the package: registering it is the only
step that makes ``Context(search="toy")`` run the whole offline graph on its papers. Its
papers have their own identity (``source="toy"``, ids that are not arXiv ids, no version,
no URL), which is what a second source brings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from sovereign_agents import Context, Paper
from sovereign_agents.corpus import load_corpus
from sovereign_agents.errors import ConfigError
from sovereign_agents.runner import RunResult, run_research
from sovereign_agents.search import (
    SearchBackend,
    register_source,
    search_backend,
    source_name,
    source_names,
    unregister_source,
)
from sovereign_agents.search.arxiv_api import ArxivSearch
from sovereign_agents.search.local import LocalCorpusSearch
from sovereign_agents.text import STOP_WORDS, tokens

GOAL = (
    "How does speculative decoding speed up LLM inference, and what acceptance rates are reported?"
)


class ToySearch:
    """An in-memory source: word overlap of query and title + abstract, best first."""

    name = "toy"

    def __init__(self, papers: list[Paper]) -> None:
        self.papers = papers
        self.terms = [set(tokens(p.text)) for p in papers]
        self.queries: list[str] = []

    def search(self, query: str, k: int) -> list[tuple[Paper, float]]:
        self.queries.append(query)
        wanted = {t for t in tokens(query) if t not in STOP_WORDS}
        scored = [
            (len(wanted & terms) / len(wanted), i)
            for i, terms in enumerate(self.terms)
            if wanted and wanted & terms
        ]
        scored.sort(key=lambda pair: (-pair[0], pair[1]))
        return [(self.papers[i], round(score, 4)) for score, i in scored[:k]]

    def get(self, paper_id: str) -> Paper | None:
        return next((p for p in self.papers if p.id == paper_id), None)

    def describe(self) -> str:
        return f"toy in-memory source ({len(self.papers)} papers), word-overlap ranking"


@pytest.fixture(scope="module")
def toy_papers(daily_corpus: Path) -> list[Paper]:
    """Real abstracts under a toy identity: ids no arXiv id looks like, no URL."""
    papers, _ = load_corpus(daily_corpus)
    return [
        p.model_copy(update={"source": "toy", "id": f"toy-{n}", "version": None, "url": ""})
        for n, p in enumerate(papers)
    ]


@pytest.fixture(scope="module")
def toy(toy_papers: list[Paper]) -> Iterator[ToySearch]:
    backend = ToySearch(toy_papers)
    register_source("toy", lambda context: backend)
    yield backend
    unregister_source("toy")


@pytest.fixture(scope="module")
def toy_run(toy: ToySearch, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_research(GOAL, Context(search="toy"), tmp_path_factory.mktemp("toy"))


def test_a_name_is_a_source_only_once_registered() -> None:
    assert source_names()[:2] == ("local", "arxiv")
    with pytest.raises(
        ConfigError,
        match=r"^search.backend must be auto, local, arxiv or a SearchBackend object, not 'nope'$",
    ):
        Context(search="nope")
    register_source("nope", lambda context: ToySearch([]))
    try:
        assert isinstance(search_backend(Context(search="nope")), ToySearch)
        with pytest.raises(ConfigError, match="already registered"):
            register_source("nope", lambda context: ToySearch([]))
        register_source("nope", lambda context: ToySearch([]), replace=True)
    finally:
        unregister_source("nope")
    with pytest.raises(
        ConfigError, match=r"auto, local, arxiv or a SearchBackend object, not 'nope'$"
    ):
        Context(search="nope")
    for bad in ("auto", "", "two words"):
        with pytest.raises(ConfigError, match="plain name"):
            register_source(bad, lambda context: ToySearch([]))


def test_auto_and_the_built_in_sources(daily_corpus: Path, tmp_path: Path) -> None:
    assert source_name(Context(search="auto", corpus=None)) == "arxiv"
    local = Context(corpus=str(daily_corpus))
    assert source_name(local) == "local"
    assert isinstance(search_backend(local), LocalCorpusSearch)
    remote = Context(corpus=str(daily_corpus), search="arxiv", cache_dir=str(tmp_path))
    backend = search_backend(remote)
    assert isinstance(backend, ArxivSearch) and backend is search_backend(remote)
    with pytest.raises(ConfigError, match="needs a corpus file"):
        search_backend(Context(search="local", corpus=None))
    object_backend = ToySearch([])
    assert isinstance(object_backend, SearchBackend)
    assert search_backend(Context(search=object_backend)) is object_backend


def test_paper_identity_is_source_id_and_version() -> None:
    arxiv_paper = Paper(id="2401.00001", version=2, title="T", abstract="A")
    assert arxiv_paper.source == "arxiv"  # older caches and traces carry no source
    assert arxiv_paper.link == "https://arxiv.org/abs/2401.00001"
    toy_paper = Paper(source="toy", id="2401.00001", title="T", abstract="A")
    assert toy_paper.link == ""  # an arXiv-shaped id of another source is not an arXiv link
    assert Paper.model_validate(toy_paper.model_dump(mode="json")) == toy_paper


@pytest.mark.slow
def test_a_registered_source_runs_the_offline_graph(toy: ToySearch, toy_run: RunResult) -> None:
    assert toy.queries, "the graph searched the toy source"
    assert toy_run.report_json and toy_run.report_md
    report = json.loads(toy_run.report_json.read_text())
    ids = {p["id"] for p in report["papers"]}
    assert ids and all(i.startswith("toy-") for i in ids)
    assert all(p["url"] == "" for p in report["papers"])  # no URL, so no made-up arXiv link
    claims = [c for c in report["claims"] if c["dropped_in_round"] is None]
    assert claims and {c["paper_id"] for c in claims} <= ids
    assert any(c["verified"] for c in claims)
    assert {q["backend"] for q in report["queries"]} == {"toy"}
    markdown = toy_run.report_md.read_text()
    methodology = markdown.split("## 2 Methodology")[1].split("## 3")[0]
    assert toy.describe() in methodology
    references = markdown.split("## References")[1]
    assert "arxiv.org" not in references
    searched = [
        call
        for line in toy_run.trace.read_text().splitlines()
        for call in json.loads(line).get("calls") or []
        if call.get("kind") == "search"
    ]
    assert searched and all(call["backend"] == "toy" for call in searched)
    assert all(hit["paper"]["source"] == "toy" for call in searched for hit in call["results"])
