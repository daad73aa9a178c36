"""``sovereign bench`` at a tiny scale: keys, types and sanity (never timing thresholds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sovereign_agents import role_schemas as rs
from sovereign_agents.bench import BenchReport, markdown_table, run_bench
from sovereign_agents.bench.critical_path import model_stages
from sovereign_agents.bench.latency_model import LatencyChatModel
from sovereign_agents.bench.search import bench_queries, replicate
from sovereign_agents.cli import app
from sovereign_agents.corpus import load_corpus
from sovereign_agents.prompts import load_prompt


@pytest.fixture(scope="module")
def report(kaggle_corpus: Path) -> BenchReport:
    return run_bench(
        kaggle_corpus,
        latency=0.01,
        scale=2,
        verify_pairs=50,
        max_queries=5,
        repeats=1,
        import_repeats=1,
    )


@pytest.mark.slow
def test_report_has_the_contract_keys(report: BenchReport) -> None:
    data = json.loads(report.model_dump_json())
    assert isinstance(data["critical_path"]["ratio"], float)
    assert isinstance(data["offline_run"]["wall_s"], float)
    assert isinstance(data["search"]["speedup_vs_rank_bm25"], float)
    assert isinstance(data["search"]["ratio_vs_bm25s"], float)
    assert isinstance(data["verify"]["pairs_per_s"], float)
    assert set(data["targets"]) == {
        "critical_path.ratio",
        "search.speedup_vs_rank_bm25",
        "search.ratio_vs_bm25s",
        "offline_run.wall_s",
        "async.warm.model_p99_ms",
        "async.cold.model_p99_ms",
        "imports.help_s",
        "imports.package_vs_langgraph",
    }
    imports = data["imports"]
    assert set(imports["median_s"]) == {
        "python -c pass",
        "import langgraph.graph",
        "import sovereign_agents",
        "from sovereign_agents import build_graph, Context",
        "sovereign --help",
        "sovereign --version",
    }
    assert all(len(runs) == 1 and runs[0] > 0 for runs in imports["runs_s"].values())


@pytest.mark.slow
def test_numbers_are_sane(report: BenchReport) -> None:
    c = report.critical_path
    # the fake model forces one revision; round 1 extracts only if it found new papers
    assert c.revised
    # the stance judge runs inside verify when a chat model is configured
    assert c.stages[:6] == ["plan", "extract", "verify", "draft", "tribunal", "revise"]
    assert c.stages[-2:] == ["draft", "tribunal"]
    assert c.ideal_s == pytest.approx(len(c.stages) * c.latency_s)
    assert c.model_calls > len(c.stages)  # branches: several calls share one stage
    assert c.wall_s >= c.ideal_s and c.ratio >= 1.0 and c.ratios == [c.ratio]
    o = report.offline_run
    assert o.records == 200 and o.wall_s > 0 and o.cold_index_s > 0 and o.peak_rss_mb > 0
    assert o.policy in {"AUTO_APPROVE", "HUMAN_REVIEW", "REJECT"}
    s = report.search
    assert s.base.documents == 200 and s.base.queries == 5
    assert s.scaled is not None and s.scaled.documents == 400
    assert s.base.local.p50_ms > 0 and s.base.rank_bm25 is not None
    assert report.verify.pairs == 50 and report.verify.pairs_per_s > 0
    assert 0 < report.verify.mean_confidence <= 1
    a = report.async_host
    for run in (a.cold, a.warm):  # every model call of the hosted runs was awaited
        assert run.calls > 0 and run.async_calls == run.calls
        assert run.model is not None and run.model.ticks > 0 and run.run.ticks >= run.model.ticks
        assert 0 <= run.model.p50_ms <= run.model.p99_ms <= run.model.max_ms
    assert a.offline.calls == 0 and a.offline.run.ticks > 0
    assert a.wall_sync_s > 0 and a.wall_async_s == a.warm.wall_s
    table = markdown_table(report)
    assert "critical_path.ratio" in table and "verify.pairs_per_s" in table
    assert "async.warm.model_phase_lag" in table and "async.wall_s" in table


@pytest.mark.parametrize(
    ("role", "schema"),
    [
        ("planner", rs.PlanOutput),
        ("extractor", rs.ExtractOutput),
        ("writer", rs.DraftOutput),
        ("skeptic", rs.ReviewOutput),
        ("reviser", rs.RevisionOutput),
    ],
)
def test_latency_model_answers_every_role(role: str, schema: type) -> None:
    prompt = load_prompt(role)
    values = {name: "C0123abcd | verified 0.50 | 1 | a claim" for name in prompt.inputs}
    known = {
        "goal": "How do sparse experts scale language models?",
        "n_queries": 4,
        "abstract": "Sparse experts scale well. They cut compute by half.",
        "max_claims": 2,
    }
    values.update({k: v for k, v in known.items() if k in prompt.inputs})
    text = prompt.render(**values)
    model = LatencyChatModel(latency=0.0)
    answer = model.answer(model._role(text, {}), text)
    parsed = schema.model_validate(answer)
    if role == "extractor":
        assert [c.evidence for c in parsed.claims] == [
            "Sparse experts scale well.",
            "They cut compute by half.",
        ]
    if role == "skeptic":  # first three reviews score low, the later ones high
        assert [model.answer("review", text)["score"] for _ in range(3)] == [5.0, 5.0, 8.0]


def test_stages_merge_parallel_branches(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    chat = [{"kind": "chat"}]
    records = [
        {"node": "plan", "calls": chat},
        {"node": "search", "calls": [{"kind": "search"}]},
        {"node": "extract", "calls": chat},
        {"node": "extract", "calls": chat},
        {"node": "verify", "calls": []},
        {"node": "skeptic", "calls": chat},
        {"node": "validator", "calls": chat},
    ]
    trace.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    assert model_stages(trace) == ["plan", "extract", "tribunal"]


def test_replicas_get_new_ids(kaggle_corpus: Path) -> None:
    papers, _ = load_corpus(kaggle_corpus)
    copies = replicate(papers[:3], 3)
    assert len({p.id for p in copies}) == 9
    assert copies[3].id == f"{papers[0].id}-r1" and copies[3].title == papers[0].title
    assert len(bench_queries(papers)) > 20


@pytest.mark.slow
def test_cli_bench_import_alone_needs_no_corpus() -> None:
    result = CliRunner().invoke(app, ["bench", "import", "--json", "--import-repeats", "1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["repeats"] == 1 and data["package_vs_langgraph"] > 0
    assert data["median_s"]["sovereign --version"] > 0


def test_cli_rejects_bad_input(kaggle_corpus: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["bench", "--corpus", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 2 and "not found" in result.output
    result = runner.invoke(app, ["bench", "--corpus", str(kaggle_corpus), "--latency", "0"])
    assert result.exit_code == 2 and "--latency" in result.output
    result = runner.invoke(app, ["bench"])
    assert result.exit_code == 2 and "--corpus" in result.output


def test_runs_get_one_thread_per_branch() -> None:
    from sovereign_agents.context import Context
    from sovereign_agents.errors import ConfigError
    from sovereign_agents.runner import with_concurrency

    config = with_concurrency({"configurable": {"thread_id": "t"}}, Context())
    # one thread per branch, plus the one LangGraph's sync stream keeps busy relaying
    assert config["max_concurrency"] == Context().max_concurrency + 1 == 65
    assert config["configurable"] == {"thread_id": "t"}
    assert "max_concurrency" not in with_concurrency({}, Context(max_concurrency=None))
    with pytest.raises(ConfigError, match="max_concurrency"):
        Context(max_concurrency=0)
