"""Retrieval eval: the metrics by hand, the SciFact conversion, and a small slice end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sovereign_agents.cli import app
from sovereign_agents.corpus import load_corpus
from sovereign_agents.errors import InputError
from sovereign_agents.evals.retrieval import (
    convert_scifact,
    interpolate,
    load_queries,
    run_retrieval_eval,
    top_ids,
)
from sovereign_agents.evals.retrieval_metrics import mean, ndcg_at_k, recall_at_k


def test_ndcg_by_hand() -> None:
    assert ndcg_at_k(["a", "b"], {"a"}, 10) == 1.0
    assert ndcg_at_k(["x", "a"], {"a"}, 10) == pytest.approx(1 / math.log2(3))
    # two relevant, found at ranks 1 and 3: (1 + 1/2) / (1 + 1/log2(3))
    expected = (1 + 0.5) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(["a", "x", "b"], {"a", "b"}, 10) == pytest.approx(expected)
    assert ndcg_at_k(["x", "a"], {"a"}, 1) == 0.0
    assert ndcg_at_k([], {"a"}, 10) == 0.0
    assert ndcg_at_k(["a"], set(), 10) == 0.0
    assert ndcg_at_k(["a", "a", "b"], {"a", "b"}, 10) == 1.0  # duplicates count once
    with pytest.raises(ValueError):
        ndcg_at_k(["a"], {"a"}, 0)


def test_recall_by_hand() -> None:
    assert recall_at_k(["a", "b", "c"], {"a", "c", "z"}, 100) == pytest.approx(2 / 3)
    assert recall_at_k(["a", "b", "c"], {"c"}, 2) == 0.0
    assert recall_at_k(["a"], set(), 100) == 0.0
    assert mean([]) == 0.0
    assert mean([0.5, 1.0]) == 0.75


def test_interpolation_and_top_ids() -> None:
    lexical = np.array([4.0, 2.0, 0.0])
    semantic = np.array([-0.5, 0.5, 1.0])
    assert interpolate(lexical, semantic, 1.0).tolist() == [1.0, 0.5, 0.0]
    assert interpolate(lexical, semantic, 0.0).tolist() == [0.0, 0.5, 1.0]
    assert interpolate(np.zeros(2), np.zeros(2), 0.5).tolist() == [0.0, 0.0]
    ids = ["a", "b", "c", "d"]
    assert top_ids(np.array([0.1, 0.3, 0.3, 0.0]), ids, 10) == ["b", "c", "a"]
    assert top_ids(np.array([0.1, 0.3, 0.3, 0.0]), ids, 1) == ["b"]


def test_scifact_converts_to_the_arxiv_format(data_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "corpus.jsonl"
    lines = (data_dir / "scifact" / "corpus.jsonl").read_text().splitlines()[:5]
    source.write_text("\n".join(lines) + "\n")
    converted = convert_scifact(source, str(tmp_path / "cache"))
    assert convert_scifact(source, str(tmp_path / "cache")) == converted  # cached
    papers, report = load_corpus(converted)
    assert report.formats == {"kaggle": 5}
    first = json.loads(lines[0])
    assert papers[0].id == str(first["doc_id"])
    assert papers[0].abstract.startswith(first["abstract"][0][:40])
    source.write_text('{"doc_id": 1}\n')
    with pytest.raises(InputError, match="line 1"):
        convert_scifact(source, str(tmp_path / "cache2"))


def test_claims_without_citations_are_not_queries(tmp_path: Path) -> None:
    path = tmp_path / "claims.jsonl"
    path.write_text('{"id": 1, "claim": "A", "cited_doc_ids": [5, 6]}\n{"id": 2, "claim": "B"}\n')
    queries = load_queries(path)
    assert [(q.id, q.relevant) for q in queries] == [("1", ["5", "6"])]
    path.write_text('{"id": 2, "claim": "B"}\n')
    with pytest.raises(InputError, match="no claims"):
        load_queries(path)


@pytest.mark.slow
def test_a_slice_of_scifact_train(data_dir: Path) -> None:
    report = run_retrieval_eval(data_dir / "scifact", split="train", limit=60, lsa_dim=32)
    assert report.queries == 60
    assert report.documents == 5183
    for scores in report.rankers.values():
        assert 0.3 < scores.ndcg_at_10 <= 1.0
        assert 0.5 < scores.recall_at_100 <= 1.0
    assert "scifact-arxiv" in report.corpus_file
    assert not report.corpus_file.startswith(str(Path.cwd()))


@pytest.mark.slow
def test_cli_rejects_a_bad_split_and_prints_json(data_dir: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["eval", "retrieval", "--split", "nope"])
    assert result.exit_code == 2
    assert "split must be one of" in result.output
    result = runner.invoke(
        app,
        [
            "eval",
            "retrieval",
            "--data",
            str(data_dir / "scifact"),
            "--limit",
            "5",
            "--lsa-dim",
            "32",
            "--json",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["rankers"]) == {"bm25", "hybrid", "rerank"}
    assert data["default_ranker"] == "rerank"
    assert isinstance(data["hybrid_beats_bm25"], bool)
    result = runner.invoke(
        app,
        [
            *["eval", "retrieval", "--data", str(data_dir / "scifact"), "--limit", "5"],
            *["--ranker", "bm25", "--ranker", "rerank"],
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "rerank (BM25 + RM3 candidates, fitted trees) — the graph's ranker" in result.output
    assert "hybrid" not in result.output
    result = runner.invoke(app, ["eval", "retrieval", "--ranker", "bm26"])
    assert result.exit_code != 0
    assert "rankers must be among" in result.output


def test_the_reranker_is_scored_alone(data_dir: Path) -> None:
    report = run_retrieval_eval(data_dir / "scifact", limit=40, rankers=["rerank", "bm25"])
    assert list(report.rankers) == ["rerank", "bm25"]
    assert report.hybrid_beats_bm25 is None
    # fitted on the even claims of this split: on its first 40 it must not fall below BM25
    assert report.rankers["rerank"].ndcg_at_10 >= report.rankers["bm25"].ndcg_at_10
    assert report.rankers["rerank"].recall_at_100 >= report.rankers["bm25"].recall_at_100
