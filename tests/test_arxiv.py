"""arXiv search against a loopback server replaying the recorded arXiv API responses."""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import arxiv
import pytest

from sovereign_agents import Context
from sovereign_agents.errors import SearchUnavailable
from sovereign_agents.http_limits import http_limits
from sovereign_agents.search.arxiv_api import (
    ArxivConfig,
    ArxivSearch,
    PoliteClient,
    RateLimiter,
    RequestStats,
    arxiv_query,
)
from sovereign_agents.search.base import PartialResults
from tests import HANG_GUARD_S


def backend(replay: Any, tmp_path: Path, **knobs: Any) -> ArxivSearch:
    values = {
        "arxiv_api_url": replay.url,
        "arxiv_interval": 0.0,
        "arxiv_backoff": 0.01,
        "cache_dir": str(tmp_path),
        **knobs,
    }
    return ArxivSearch(ArxivConfig.from_context(Context(**values)))


def test_search_returns_recorded_results_in_relevance_order(
    arxiv_replay: Any, tmp_path: Path
) -> None:
    search = backend(arxiv_replay, tmp_path)
    results = search.search("testing", 10)
    assert len(results) == 10 and len(arxiv_replay.requests) == 1
    assert "search_query=all%3Atesting" in arxiv_replay.requests[0]
    assert [s for _, s in results] == sorted((s for _, s in results), reverse=True)
    paper = results[0][0]
    assert paper.id and paper.version and paper.title and paper.abstract
    assert "v" not in paper.id and paper.url.startswith("http")


def test_paging_requests_each_recorded_page(arxiv_replay: Any) -> None:
    client = PoliteClient(
        arxiv_replay.url,
        page_size=10,
        limiter=RateLimiter(0),
        retries=0,
        backoff=0,
        timeout=5,
        stats=RequestStats(),
        limits=http_limits(Context(), "arxiv"),
    )
    results = list(client.results(arxiv.Search(query="testing", max_results=30)))
    assert len(results) == 30 and len({r.entry_id for r in results}) == 30
    starts = [p.split("start=")[1].split("&")[0] for p in arxiv_replay.requests]
    assert starts == ["0", "10", "20"]


def test_id_lookups_normalise_ids_and_pin_versions(arxiv_replay: Any, tmp_path: Path) -> None:
    search = backend(arxiv_replay, tmp_path)
    paper = search.get("1605.08386")
    assert paper is not None and paper.id == "1605.08386" and paper.version is not None
    old = search.get("astro-ph/0601001")
    assert old is not None and old.id == "astro-ph/0601001"
    assert search.get("0000.0000") is None  # the recorded empty result
    assert search.get("abc") is None  # the recorded HTTP 400


def test_503_then_success_is_retried(arxiv_replay: Any, tmp_path: Path) -> None:
    search = backend(arxiv_replay, tmp_path)
    arxiv_replay.fail_next([503, 502])
    results = search.search("testing", 10)
    assert len(results) == 10
    assert search.stats.retries == 2 and len(arxiv_replay.requests) == 3


def test_timeout_then_success_is_retried(arxiv_replay: Any, tmp_path: Path) -> None:
    arxiv_replay.slow.extend([1.5])  # the first answer comes after the client's timeout
    ctx = Context(
        arxiv_api_url=arxiv_replay.url,
        arxiv_interval=0,
        arxiv_backoff=0.01,
        arxiv_timeout=0.5,
        cache_dir=str(tmp_path),
    )
    search = ArxivSearch(ArxivConfig.from_context(ctx))
    assert len(search.search("testing", 10)) == 10
    assert search.stats.retries == 1 and len(arxiv_replay.requests) == 2


def test_empty_page_mid_results_is_retried(arxiv_replay: Any) -> None:
    client = PoliteClient(
        arxiv_replay.url,
        page_size=10,
        limiter=RateLimiter(0),
        retries=2,
        backoff=0.01,
        timeout=5,
        stats=RequestStats(),
        limits=http_limits(Context(), "arxiv"),
    )
    results = client.results(arxiv.Search(query="testing", max_results=20))
    first = next(results)
    arxiv_replay.empties = 1  # page 2 comes back empty once (arXiv does this), then fine
    rest = list(results)
    assert len([first, *rest]) == 20 and client.stats.retries == 1
    assert len(arxiv_replay.requests) == 3


def test_persistent_failure_keeps_the_pages_that_arrived(arxiv_replay: Any) -> None:
    arxiv_replay.fail_next([0, 503, 503, 503])
    ctx = Context(
        arxiv_api_url=arxiv_replay.url, arxiv_interval=0, arxiv_backoff=0.01, arxiv_retries=2
    )
    search = ArxivSearch(ArxivConfig.from_context(ctx))
    with pytest.raises(PartialResults) as caught:
        search._run(arxiv.Search(query="testing", max_results=30), page_size=10)
    assert len(caught.value.results) == 10 and "503" in caught.value.error


def test_http_400_is_not_retried(arxiv_replay: Any, tmp_path: Path) -> None:
    arxiv_replay.fail_next([400])
    search = backend(arxiv_replay, tmp_path)
    with pytest.raises(arxiv.HTTPError):
        search.search("testing", 10)
    assert len(arxiv_replay.requests) == 1


def test_results_are_cached_so_a_rerun_makes_no_request(arxiv_replay: Any, tmp_path: Path) -> None:
    backend(arxiv_replay, tmp_path).search("testing", 10)
    again = backend(arxiv_replay, tmp_path)
    assert len(again.search("testing", 10)) == 10
    assert len(arxiv_replay.requests) == 1 and again.stats.cache_hits == 1


def test_parallel_queries_share_one_rate_limiter(arxiv_replay: Any, tmp_path: Path) -> None:

    limiter = RateLimiter(0.25)
    search = backend(arxiv_replay, tmp_path)
    search.limiter = limiter
    threads = [threading.Thread(target=search.search, args=(f"testing {i}", 10)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # the four threads were granted four distinct slots, one interval apart
    slots = sorted(limiter.slots)
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert len(slots) == 4 and min(gaps) >= 0.25 - 1e-9


def test_unreachable_arxiv_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    context = Context(
        arxiv_api_url=f"http://127.0.0.1:{port}/api/query",
        arxiv_interval=0,
        arxiv_backoff=0.01,
        arxiv_retries=1,
        cache_dir=str(tmp_path),
    )
    search = ArxivSearch(ArxivConfig.from_context(context))
    with pytest.raises(SearchUnavailable, match=r"arXiv.*--corpus"):
        search.search("anything", 5)


def test_query_syntax_with_filters() -> None:
    assert arxiv_query("Mixture of experts", [], None, None) == "all:mixture AND all:experts"
    q = arxiv_query("sparse routing", ["cs.CL", "cs.LG"], "2025-01-01", None)
    assert q == (
        "all:sparse AND all:routing AND (cat:cs.CL OR cat:cs.LG) AND "
        "submittedDate:[202501010000 TO 299912312359]"
    )


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sovereign_agents", *args],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        env={**os.environ, **env},
    )


@pytest.mark.slow
def test_full_run_against_replayed_arxiv(arxiv_replay: Any, tmp_path: Path) -> None:
    env = {
        "SOVEREIGN_ARXIV_API_URL": arxiv_replay.url,
        "SOVEREIGN_ARXIV_INTERVAL": "0.05",
        "SOVEREIGN_CACHE_DIR": str(tmp_path / "cache"),
    }
    out = tmp_path / "run"
    proc = cli(
        "run", "How do video diffusion models speed up generation?", "--out", str(out), env=env
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["papers"] and report["claims"]
    assert "arXiv API at http://127.0.0.1" in report["search"]
    distinct = {arxiv_query(q["query"], [], None, None) for q in report["queries"]}
    assert len(arxiv_replay.requests) == len(distinct)  # one request per distinct query
    assert {q["backend"] for q in report["queries"]} == {"arxiv"}
    # every claim is pinned to the paper version and a hash of the text it was checked against
    versions = {p["id"]: p["version"] for p in report["papers"]}
    for claim in report["claims"]:
        assert len(claim["source_sha256"]) == 64
        assert claim["paper_version"] == versions[claim["paper_id"]] is not None
        assert (
            claim["evidence_start"] is not None and claim["evidence_end"] > claim["evidence_start"]
        )
    # the same run again is served from the cache
    proc = cli(
        "run",
        "How do video diffusion models speed up generation?",
        "--out",
        str(tmp_path / "again"),
        env=env,
    )
    assert proc.returncode == 0 and len(arxiv_replay.requests) == len(distinct)


@pytest.mark.slow
def test_cli_names_arxiv_and_the_corpus_alternative_when_unreachable(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = cli(
        "run",
        "a goal",
        "--out",
        str(tmp_path / "o"),
        env={
            "SOVEREIGN_ARXIV_API_URL": f"http://127.0.0.1:{port}/api/query",
            "SOVEREIGN_ARXIV_INTERVAL": "0",
            "SOVEREIGN_CACHE_DIR": str(tmp_path),
        },
    )
    assert proc.returncode != 0
    assert "arXiv" in proc.stderr and "--corpus" in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr and lines[-1].startswith("error: arXiv API")
    assert sum(line.startswith("error") for line in lines) == 1  # progress lines before it
