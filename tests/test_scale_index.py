"""The corpus at scale: streamed, merged, indexed into a memory-mapped file whose scores are
those of the in-RAM index to the bit; hostile files still counted; the scale bench's corpus.

No test here indexes more than ~8,000 records (the daily listing)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from sovereign_agents.bench.search import FIXED_QUERIES
from sovereign_agents.corpus import LoadReport, Merger, load_corpus, read_lines
from sovereign_agents.errors import CorpusError
from sovereign_agents.schemas import Paper
from sovereign_agents.search import index_build, local
from sovereign_agents.search.index_file import SortedStrings
from sovereign_agents.search.local import BM25Index, LocalCorpusSearch, open_index

QUERIES = [
    *FIXED_QUERIES,
    "attention attention attention",  # a repeated term counts each time
    "zzzz unknownterm",
    "",
    "Vision-Language Models (VLMs) for MoE routing",
]


def in_ram(path: Path) -> BM25Index:
    papers, report = load_corpus(path)
    return BM25Index.build(papers, sha256=report.sha256, source=str(path), report=report)


def assert_same_index(mapped: BM25Index, built: BM25Index) -> None:
    assert dict(mapped.vocabulary.items()) == dict(built.vocabulary.items())
    assert [p.id for p in mapped.papers] == [p.id for p in built.papers]
    assert mapped.papers[len(built.papers) - 1] == built.papers[-1]
    for name in ("indptr", "rows", "data", "max_weight"):
        assert np.array_equal(getattr(mapped, name), getattr(built, name)), name
    assert mapped.load_report.records == built.load_report.records
    assert mapped.load_report.skipped == built.load_report.skipped
    for query in QUERIES:
        scores = mapped.scores(query)
        assert scores.dtype == np.float32
        assert np.array_equal(scores, built.scores(query)), query
        assert mapped.top(query, 10) == built.top(query, 10)


def scipy_sum(index: BM25Index, query: str) -> np.ndarray:
    """How scores were computed before the index moved to disk: scipy's column sum."""
    columns = index.columns(query)
    if not columns:
        return np.zeros(len(index.papers), dtype=np.float32)
    return np.asarray(index.weights[:, columns].sum(axis=1)).ravel()


@pytest.fixture
def cache(tmp_path: Path) -> str:
    local.clear_memo()
    return str(tmp_path / "cache")


def test_the_memory_mapped_index_equals_the_in_ram_one(daily_corpus: Path, cache: str) -> None:
    mapped, warm = open_index(daily_corpus, cache)
    assert not warm and isinstance(mapped.data.base, np.memmap)  # file-backed, not copied
    built = in_ram(daily_corpus)
    assert_same_index(mapped, built)
    for query in QUERIES:  # and both equal the scipy column sum the index used before
        assert np.array_equal(built.scores(query), scipy_sum(built, query)), query
        assert np.array_equal(mapped.scores(query), scipy_sum(mapped, query)), query
    # another process (memo cleared) opens the same file, equal again
    local.clear_memo()
    again, warm = open_index(daily_corpus, cache)
    assert warm and again is not mapped
    assert_same_index(again, built)


def test_small_chunks_and_buckets_build_the_same_index(
    daily_corpus: Path, tmp_path: Path, cache: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker processes, many batches, spill chunks and transposition buckets (as at
    millions of records) change nothing."""
    path = tmp_path / "c.jsonl"
    lines = daily_corpus.read_text().splitlines()[:1500]
    lines[700] = lines[3]  # a duplicate in another batch
    path.write_text("\n".join([*lines, "garbage"]) + "\n")
    monkeypatch.setattr(index_build, "CHUNK", 997)
    monkeypatch.setattr(index_build, "BUCKET", 4099)
    monkeypatch.setattr(index_build, "LINES_PER_BATCH", 97)
    monkeypatch.setattr(index_build, "PARALLEL_FROM", 0)
    cpus = len(os.sched_getaffinity(0))
    assert index_build.workers_for(path) == (0 if cpus == 1 else min(cpus, 4))
    mapped, _ = open_index(path, cache)
    assert (mapped.load_report.merged, mapped.load_report.skipped) == (1, 1)
    assert_same_index(mapped, in_ram(path))


def record(pid: str, title: str, abstract: str, **extra: object) -> str:
    return json.dumps(
        {"id": pid, "title": title, "abstract": abstract, "authors": "A. B.", **extra}
    )


def test_versions_and_relisted_works_are_merged(tmp_path: Path, cache: str) -> None:
    path = tmp_path / "merge.jsonl"
    lines = [
        record("2501.00001v1", "Sparse experts", "Routing tokens with a gate quokka."),
        record("2501.00002", "Dense models", "Dense layers everywhere."),
        record("2501.00001v2", "Sparse experts", "Routing tokens with a learned gate wombat."),
        record("2501.00001v1", "Sparse experts", "An old copy read after v2 numbat."),
        record("2501.00003", "Dense  models!", "dense layers, everywhere"),  # same work, new id
        record("2501.00002v3", "Dense models", "Dense layers everywhere, revised."),  # newer
        record("2501.00004", "Other", "Something else."),
    ]
    path.write_text("\n".join(lines) + "\n")
    papers, report = load_corpus(path)
    assert [(p.id, p.version) for p in papers] == [
        ("2501.00001", 2),
        ("2501.00002", 3),
        ("2501.00004", None),
    ]
    assert (report.records, report.merged, report.skipped) == (3, 4, 0)
    search = LocalCorpusSearch(path, cache)
    index = search.index
    assert len(index.papers) == 3 and index.load_report.merged == 4
    assert "quokka" not in index.vocabulary and "numbat" not in index.vocabulary
    assert search.search("wombat", 5)[0][0].id == "2501.00001"
    assert search.search("quokka numbat", 5) == []
    # any id of a merged work finds the work kept
    got = search.get("2501.00003")
    assert got is not None and got.id == "2501.00002"
    assert search.get("2501.00001v1") == search.get("2501.00001")
    assert_same_index(index, in_ram(path))


def test_merger_keeps_the_first_record_at_an_equal_or_unknown_version() -> None:
    merger = Merger()
    a = Paper(id="1", title="t", abstract="a")
    b = Paper(id="1", title="t", abstract="b")
    assert merger.admit(a) == (True, None)
    assert merger.admit(b) == (False, None)
    assert merger.admit(b.model_copy(update={"version": 2})) == (True, 0)


def test_hostile_lines_give_the_same_counts_streamed_and_in_ram(
    daily_corpus: Path, tmp_path: Path, cache: str
) -> None:
    good = daily_corpus.read_text().splitlines()[:40]
    path = tmp_path / "hostile.jsonl"
    body = "\r\n".join(good[:10]) + "\r\n"  # Windows line ends
    body += good[10] + "\r" + good[11] + "\n"  # a bare carriage return between two records
    body += "garbage\n\n" + "[" * 100_000 + "\n" + json.dumps({"id": "x"}) + "\n"
    body += "\n".join(good[12:]) + "\n"
    body += good[0][: len(good[0]) // 2]  # truncated: the file ends mid-record
    path.write_bytes(b"\xef\xbb\xbf" + body.encode() + b"\xff\xfe")
    papers, report = load_corpus(path)
    assert len(papers) == 40 and report.records == 40
    assert report.skipped == 4 and report.first_error and report.first_error.startswith("line 13")
    mapped, _ = open_index(path, cache)
    assert (mapped.load_report.records, mapped.load_report.skipped) == (40, 4)
    assert mapped.load_report.first_error == report.first_error
    assert mapped.papers[0] == papers[0] and mapped.papers[11] == papers[11]
    assert_same_index(mapped, in_ram(path))


def test_read_lines_splits_and_locates_like_text_mode(tmp_path: Path) -> None:
    path = tmp_path / "lines.txt"
    raw = b"\xef\xbb\xbfone\r\ntwo\rthree\n\nfour \xff"
    path.write_bytes(raw)
    with path.open("rb") as handle:
        lines = list(read_lines(handle))
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        # the same lines; a line keeps its own ending (JSON ignores it), text mode makes it "\n"
        assert [text.rstrip("\r\n") for *_, text in lines] == [t.rstrip("\n") for t in handle]
    for offset, length, _, text in lines[1:]:
        assert raw[offset : offset + length].decode("utf-8", "replace") == text


def test_a_file_of_only_bad_lines_is_a_clear_error(tmp_path: Path, cache: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("garbage\n{}\n")
    with pytest.raises(CorpusError, match=r"no arXiv records .*line 1"):
        open_index(path, cache)


def test_a_corpus_changed_after_indexing_is_reindexed(tmp_path: Path, cache: str) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(record("1", "Alpha", "First text.") + "\n")
    first, _ = open_index(path, cache)
    path.write_text(record("1", "Alpha", "First text.") + "\n" + record("2", "Beta", "Two.") + "\n")
    second, warm = open_index(path, cache)
    assert not warm and len(second.papers) == 2 and len(first.papers) == 1


def test_sorted_strings_is_a_mapping_in_vocabulary_order() -> None:
    keys = ["b", "a", "é", "z", "ä", "\U0001f600", "aa", ""]
    blob, starts, values = SortedStrings.arrays([(k, i) for i, k in enumerate(keys)])
    table = SortedStrings(blob, starts, values)
    assert dict(table.items()) == {k: i for i, k in enumerate(keys)}
    assert list(table) == sorted(keys)  # UTF-8 byte order is code point order
    assert "q" not in table and table.get("q") is None and 3 not in table
    positions = SortedStrings(blob, starts, None)
    assert [positions[k] for k in sorted(keys)] == list(range(len(keys)))


def test_lsa_is_fitted_on_an_even_sample_of_a_large_corpus(kaggle_corpus: Path, cache: str) -> None:
    index, _ = open_index(kaggle_corpus, cache)
    assert [p.id for p in index.sample(10**6)] == [p.id for p in index.papers]
    sample = index.sample(50)
    assert len(sample) == 50 and sample[0] == index.papers[0] and sample[-1] == index.papers[-1]


def test_the_scale_corpus_replicates_records_as_distinct_works(
    kaggle_corpus: Path, tmp_path: Path
) -> None:
    from sovereign_agents.bench.scale import generate

    path = tmp_path / "scaled.jsonl"
    assert generate(kaggle_corpus, 450, path) == 450
    papers, report = load_corpus(path)
    assert report.records == 450 and report.merged == 0 and report.skipped == 0
    assert len({p.id for p in papers}) == 450
    assert papers[200].id.startswith("r1-") and papers[200].title.endswith("(r1)")
    assert LoadReport.__dataclass_fields__["merged"].default == 0


def test_the_scale_bench_measures_each_size_and_cleans_up(
    kaggle_corpus: Path, tmp_path: Path
) -> None:
    from sovereign_agents.bench.scale import markdown, run_scale_bench

    work = tmp_path / "work"
    bench = run_scale_bench(kaggle_corpus, [300], work, runs=False)
    assert [(p.records, p.papers) for p in bench.points] == [(300, 300)]
    for point in bench.points:
        assert point.index_mb > 0 and point.build.peak_rss_mb > 0 and point.search_p50_ms > 0
        assert point.graph_search_p50_ms > 0
        assert point.first_run is None and len(point.load_before) == 3
    assert "| 300 | 300 |" in markdown(bench)
    assert sorted(p.name for p in work.iterdir()) == []  # generated corpus and caches removed
