"""End to end on the 7,433 real arXiv records: a supported goal and one far outside the corpus."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sovereign_agents import Context
from sovereign_agents.runner import RunResult, run_research
from sovereign_agents.verification.stance_model import load_stance_model

STANCE = load_stance_model().name  # the shipped default (stance_v2)

# answerable from the corpus: papers on speculative decoding report acceptance rates
ON_TOPIC = (
    "How does speculative decoding speed up LLM inference, and what acceptance rates are reported?"
)
OFF_TOPIC = "What hydration should a sourdough starter have for baking rye bread?"
SECTIONS = [
    "## Abstract",
    "## 1 Introduction",
    "## 2 Methodology",
    "## 3 Results",
    "## 4 Uncertainties",
    "## 5 Extracted Claims",
    "## References",
]


@pytest.fixture(scope="module")
def on_topic(daily_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_research(ON_TOPIC, Context(corpus=str(daily_corpus)), tmp_path_factory.mktemp("on"))


@pytest.fixture(scope="module")
def off_topic(daily_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_research(
        OFF_TOPIC, Context(corpus=str(daily_corpus)), tmp_path_factory.mktemp("off")
    )


def load(result: RunResult) -> tuple[dict[str, Any], str]:
    assert result.report_json and result.report_md
    return json.loads(result.report_json.read_text()), result.report_md.read_text()


def test_supported_goal_is_verified_and_approved(on_topic: RunResult) -> None:
    report, md = load(on_topic)
    active = [c for c in report["claims"] if c["dropped_in_round"] is None]
    verified = [c for c in active if c["verified"]]
    assert len(report["papers"]) >= 5 and len(verified) >= 5
    assert report["policy"] == "AUTO_APPROVE" and report["verdict"] == "APPROVE"
    assert report["tribunal"]["score"] >= 6.5
    # the papers kept are about the goal, not merely sharing a word with it
    assert sum("speculative" in p["title"].lower() for p in report["papers"]) >= 4
    # claims are whole sentences tied to their paper and evidence, with exact offsets
    for claim in active:
        assert claim["paper_id"] in {p["id"] for p in report["papers"]}
        assert claim["evidence"] and claim["text"].rstrip()[-1] in ".!?)%\"'"
        assert claim["text"] in claim["evidence"] or claim["text"][1:] in claim["evidence"]
        assert claim["verified"] == (claim["confidence"] >= report["verifier"]["threshold"])
    # the abstract answers the goal, citing verified claims
    cited = set(re.findall(r"\[(C[0-9a-f]{8})\]", md.split("## 1 Introduction")[0]))
    assert cited and cited <= {c["id"] for c in verified}


def test_off_topic_goal_is_revised_once_and_not_approved(off_topic: RunResult) -> None:
    report, md = load(off_topic)
    assert report["tribunal"]["revision_round"] == 1
    assert [r["verdict"] for r in report["tribunal"]["rounds"]] == ["REVISE", "REJECT"]
    assert report["policy"] in {"REJECT", "HUMAN_REVIEW"}
    assert report["policy"] != "AUTO_APPROVE"
    assert {q["round"] for q in report["queries"]} == {0, 1}
    assert "sourdough" in md.split("## 4 Uncertainties")[1].split("## 5")[0]


@pytest.mark.parametrize("fixture", ["on_topic", "off_topic"])
def test_report_follows_the_reference_format(fixture: str, request: pytest.FixtureRequest) -> None:
    report, md = load(request.getfixturevalue(fixture))
    lines = md.splitlines()
    assert lines[0].startswith("# SOVEREIGN: ")
    assert "SOVEREIGN Research Kernel" in lines[:4]
    assert "Autonomous draft — Owner review required before publication" in lines[:6]
    positions = [md.index(s) for s in SECTIONS]
    assert positions == sorted(positions)
    assert f"Research goal: {report['goal']}." in md
    results = re.search(
        r"(\d+) papers retrieved\. (\d+) claims extracted, (\d+) verified\. "
        r"Tribunal: ([\d.]+)/10 → (APPROVE|REVISE|REJECT) \(revision_round=(\d)\)"
        r"\. Policy: (AUTO_APPROVE|HUMAN_REVIEW|REJECT)\.",
        md,
    )
    assert results, "Results line missing"
    assert int(results.group(1)) == len(report["papers"])
    assert results.group(7) == report["policy"]
    methodology = md.split("## 2 Methodology")[1].split("## 3 Results")[0]
    for query in report["queries"]:
        assert query["query"] in methodology  # generated from the run, not a fixed string
    assert "threshold" in methodology and report["models"]["embedding"] in methodology


def test_report_json_carries_the_contract(on_topic: RunResult) -> None:
    report, _ = load(on_topic)
    for key in (
        "run_id",
        "goal",
        "papers",
        "claims",
        "tribunal",
        "verdict",
        "policy",
        "verifier",
        "prompts",
        "models",
        "thread_id",
    ):
        assert key in report, key
    assert {"id", "title", "url"} <= set(report["papers"][0])
    assert {"text", "paper_id", "evidence", "verified", "confidence"} <= set(report["claims"][0])
    assert {"score", "reviews", "revision_round"} <= set(report["tribunal"])
    assert [r["role"] for r in report["tribunal"]["reviews"]] == [
        "skeptic",
        "synthesizer",
        "validator",
    ]
    assert report["verifier"]["name"] == "hybrid"  # the default; offline, no stance judge
    assert 0 < report["verifier"]["threshold"] < 1
    # offline the fitted stance model judges stance, and the report says which and how good
    assert report["verifier"]["stance"].startswith(f"stance model {STANCE} (held-out 3-way")
    assert report["verifier"]["stance_model"]["held_out"]["pairs"] == 301
    assert report["verifier"]["params"]["data_sha256"]
    active = [c for c in report["claims"] if c["dropped_in_round"] is None]
    assert all(c["stance_by"] == STANCE for c in active)
    assert all(c["verified"] == (c["stance"] == "SUPPORT") for c in active)
    _, md = load(on_topic)
    assert "| Evidence |" in md and "| Stance |" in md and f"({STANCE}) |" in md
    uncertainties = md.split("## 4 Uncertainties")[1].split("## 5")[0]
    assert f"Stance judged offline by the fitted stance model {STANCE}" in uncertainties
    assert "held-out SciFact pairs" in uncertainties
    assert f"Stance: stance model {STANCE}" in md.split("## 2 Methodology")[1].split("## 3")[0]
    assert {p["id"] for p in report["prompts"]} == {
        "planner",
        "extractor",
        "writer",
        "skeptic",
        "validator",
        "synthesizer",
        "reviser",
    }
    assert all(len(p["sha256"]) == 64 for p in report["prompts"])
    assert report["models"]["embedding"] == "lsa-tfidf-svd" and report["models"]["embedding_dim"]


def test_trace_has_one_line_per_node_execution(on_topic: RunResult) -> None:
    lines = [json.loads(line) for line in on_topic.trace.read_text().splitlines()]
    nodes = [r["node"] for r in lines]
    assert nodes[0] == "plan" and nodes[-1] == "report"
    assert nodes.count("search") == 4 and nodes.count("extract") >= 5
    assert {"skeptic", "validator", "synthesizer", "aggregate", "policy"} <= set(nodes)
    for record in lines:
        assert record["start"] <= record["end"] and "input" in record and "output" in record
    search_calls = [c for r in lines if r["node"] == "search" for c in r["calls"]]
    assert all(c["kind"] == "search" and c["results"] for c in search_calls)


def test_anchor_paper_is_always_among_the_papers(daily_corpus: Path, tmp_path: Path) -> None:
    anchor = "2505.14336"  # Llama-SMoP, a sparse mixture of projectors for AVSR
    result = run_research(
        "Does sparse mixture of projectors help audio-visual speech recognition?",
        Context(corpus=str(daily_corpus)),
        tmp_path,
        paper=anchor,
    )
    report, md = load(result)
    assert report["anchor_paper"] == anchor
    papers = {p["id"]: p for p in report["papers"]}
    assert papers[anchor]["anchor"]
    # the paper the run is about is read first: it gives claims, and they lead the abstract
    anchor_claims = {c["id"] for c in report["claims"] if c["paper_id"] == anchor}
    assert anchor_claims
    first_cited = re.search(r"\[(C[0-9a-f]{8})\]", md.split("## Abstract")[1])
    assert first_cited and first_cited.group(1) in anchor_claims
    assert md.startswith(f"# SOVEREIGN: {papers[anchor]['title']}")
    assert f"Analysis of: {papers[anchor]['title']}." in md


def test_checkpoints_load_with_the_strict_allowlist(on_topic: RunResult) -> None:
    """Every type the state holds is on the serializer's allowlist (strict msgpack mode)."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    from sovereign_agents.graph import build_graph
    from sovereign_agents.runner import CHECKPOINTS, serde_allowlist, sqlite_checkpointer
    from sovereign_agents.schemas import Claim, TribunalRound

    with sqlite_checkpointer(on_topic.out_dir / CHECKPOINTS) as saver:
        saver.serde = JsonPlusSerializer(allowed_msgpack_modules=serde_allowlist())
        graph = build_graph(checkpointer=saver)
        values = graph.get_state({"configurable": {"thread_id": on_topic.run_id}}).values
    assert all(isinstance(c, Claim) for c in values["claims"])
    assert isinstance(values["tribunal"][0], TribunalRound)
    strict = JsonPlusSerializer(allowed_msgpack_modules=None)
    blocked = strict.loads_typed(saver.serde.dumps_typed(values["claims"][0]))
    assert not isinstance(blocked, Claim)  # without the allowlist the type would be refused
