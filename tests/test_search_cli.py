"""``sovereign search``: one query (table / JSON), a batch file, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sovereign_agents.cli import app
from sovereign_agents.cli.search_batch import read_queries
from sovereign_agents.errors import InputError
from sovereign_agents.search.local import open_index

runner = CliRunner()


def test_one_query_as_json_matches_the_graph_index(kaggle_corpus: Path) -> None:
    result = runner.invoke(
        app, ["search", "dark matter halo", "--corpus", str(kaggle_corpus), "--k", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["query"] == "dark matter halo"
    rows = data["results"]
    assert 1 <= len(rows) <= 3
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True)
    index, _ = open_index(kaggle_corpus)
    assert [r["id"] for r in rows] == [p.id for p, _ in index.top("dark matter halo", 3)]
    assert all(r["title"] for r in rows)


def test_one_query_prints_a_table(kaggle_corpus: Path) -> None:
    result = runner.invoke(app, ["search", "quantum", "--corpus", str(kaggle_corpus), "--k", "2"])
    assert result.exit_code == 0, result.output
    assert "papers for: quantum" in result.stdout


def test_batch_writes_one_line_per_query_in_order(kaggle_corpus: Path, tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        '{"id": "a", "query": "black hole"}\n\n{"id": 7, "query": "graph theory", "x": 1}\n'
    )
    result = runner.invoke(
        app, ["search", "--queries", str(queries), "--corpus", str(kaggle_corpus), "--k", "4"]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a", 7]
    assert all(1 <= len(line["ranked"]) <= 4 for line in lines)
    assert all(isinstance(i, str) for line in lines for i in line["ranked"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "x"], "--corpus"),
        (["search", "--corpus", "{corpus}"], "exactly one"),
        (["search", "  ", "--corpus", "{corpus}"], "empty"),
        (["search", "x", "--corpus", "{corpus}", "--k", "0"], "--k"),
        (["search", "x", "--corpus", "/no/such/file.jsonl"], "not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    kaggle_corpus: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, [a.replace("{corpus}", str(kaggle_corpus)) for a in args])
    assert result.exit_code == 2
    assert message in result.output


def test_bad_queries_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": 1, "query": "ok"}\n{"id": 2}\n')
    with pytest.raises(InputError, match="line 2"):
        read_queries(path)
    path.write_text("not json\n")
    with pytest.raises(InputError, match="line 1"):
        read_queries(path)
    path.write_text("\n")
    with pytest.raises(InputError, match="no queries"):
        read_queries(path)
    with pytest.raises(InputError, match="cannot read"):
        read_queries(tmp_path / "missing.jsonl")
