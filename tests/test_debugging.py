"""Stepping through runs: interrupts, resume with edits, history, fork, replay, trace, review."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel

from sovereign_agents import Context
from sovereign_agents.replay import (
    Recording,
    ReplayChatModel,
    differences,
    outcome,
    replay_context,
)
from sovereign_agents.runner import fork_run, resume_run, run_history, run_research
from tests import HANG_GUARD_S

GOAL = (
    "How does speculative decoding speed up LLM inference, and what acceptance rates are reported?"
)


def sovereign(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sovereign_agents", *args],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )


def nodes_in_trace(run_dir: Path) -> list[str]:
    lines = (run_dir / "trace.jsonl").read_text().splitlines()
    return [json.loads(line)["node"] for line in lines if '"event": "node"' in line]


def report(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "report.json").read_text())
    return data


@pytest.mark.slow
def test_pause_history_resume_from_the_cli(daily_corpus: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    paused = sovereign(
        "run", GOAL, "--corpus", str(daily_corpus), "--out", str(run), "-q",
        "--interrupt-before", "draft",
    )  # fmt: skip
    assert paused.returncode == 0, paused.stderr
    assert "paused at: draft" in paused.stdout and f"sovereign resume {run}" in paused.stdout
    assert not (run / "report.md").exists()  # no report until the run finishes

    history = sovereign("history", str(run), "--json")
    assert history.returncode == 0, history.stderr
    entries = json.loads(history.stdout)
    assert entries[-1]["next"] == ["draft"]
    assert entries[-1]["sizes"]["claims"] > 0
    assert [e["step"] for e in entries] == sorted(e["step"] for e in entries)

    resumed = sovereign("resume", str(run), "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert report(run)["policy"] == "AUTO_APPROVE"
    nodes = nodes_in_trace(run)
    # completed nodes were not run again
    assert nodes.count("plan") == 1 and nodes.count("index") == 1 and nodes.count("draft") == 1

    again = sovereign("resume", str(run))
    assert again.returncode != 0 and "has finished" in again.stderr
    assert "Traceback" not in again.stderr


@pytest.mark.slow
def test_bad_debugging_input_is_one_clear_line(daily_corpus: Path, tmp_path: Path) -> None:
    cases = [
        (["history", str(tmp_path / "nowhere")], "not a run folder"),
        (["run", GOAL, "--corpus", str(daily_corpus), "--interrupt-before", "nap"], "no node"),
        (["replay", str(tmp_path / "nowhere")], "not a run folder"),
        (["trace", "show", str(tmp_path)], "no trace"),
    ]
    for args, message in cases:
        proc = sovereign(*args, "--out", str(tmp_path / "o")) if args[0] == "run" else None
        proc = proc or sovereign(*args)
        assert proc.returncode != 0, args
        assert message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_resume_edits_state_first(daily_corpus: Path, tmp_path: Path) -> None:
    context = Context(corpus=str(daily_corpus))
    run = tmp_path / "run"
    paused = run_research(GOAL, context, run, interrupt_after=["plan"])
    assert paused.paused and set(paused.next) == {"search"}
    done = resume_run(
        run, context=context, state_update={"queries": ["sparse mixture of experts routing"]}
    )
    assert not done.paused
    searched = {q["query"] for q in report(run)["queries"] if q["round"] == 0}
    assert searched == {"sparse mixture of experts routing"}


def test_fork_at_an_earlier_checkpoint_leaves_the_original(
    daily_corpus: Path, tmp_path: Path
) -> None:
    context = Context(corpus=str(daily_corpus))
    run = tmp_path / "run"
    first = run_research(GOAL, context, run)
    assert first.values["revision_round"] == 0
    before_draft = next(e for e in run_history(run) if e.next == ("draft",))
    original = (run / "report.json").read_text()

    stricter = Context(corpus=str(daily_corpus), approve_threshold=9.9)  # forces a revision
    fork = fork_run(run, before_draft.checkpoint_id, tmp_path / "fork", context=stricter)
    assert fork.values["revision_round"] == 1
    # the policy follows the tribunal's bar: a REJECT verdict is never auto-approved
    assert fork.values["verdict"] != "APPROVE" and fork.values["policy"] != "AUTO_APPROVE"
    assert report(tmp_path / "fork")["tribunal"]["revision_round"] == 1
    assert (run / "report.json").read_text() == original
    fork_nodes = nodes_in_trace(tmp_path / "fork")
    assert fork_nodes.count("plan") == 1  # upstream of the fork point: copied, not re-run
    assert fork_nodes.count("draft") == 3  # the original's, then the fork's two rounds


def test_replay_of_an_offline_run_matches(daily_corpus: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run_research(GOAL, Context(corpus=str(daily_corpus)), run)
    proc = sovereign("replay", str(run), "--out", str(tmp_path / "replay"), "-q")
    assert proc.returncode == 0, proc.stderr
    assert "replay matches" in proc.stdout
    assert outcome(report(run)) == outcome(report(tmp_path / "replay"))


def test_replay_of_a_model_run_needs_no_model(
    fake_nim: Any, daily_corpus: Path, tmp_path: Path
) -> None:
    context = Context(
        corpus=str(daily_corpus), llm="nvidia:fake", embeddings="nvidia:fake", max_papers=4
    )
    run = tmp_path / "run"
    run_research(GOAL, context, run)
    recorded_requests = len(fake_nim.requests)
    assert recorded_requests > 0

    replayed = replay_context(run)
    assert all(isinstance(m, BaseChatModel) for m in replayed.models.role_llms.values())
    result = run_research(GOAL, replayed, tmp_path / "replay")
    assert len(fake_nim.requests) == recorded_requests  # not one request more
    assert list(differences(report(run), report(tmp_path / "replay"))) == []
    assert report(tmp_path / "replay")["models"] == report(run)["models"]
    assert result.values["verdict"] == report(run)["verdict"]


def test_replay_model_serves_by_content_not_order(tmp_path: Path) -> None:
    from langchain_core.messages import AIMessage, HumanMessage, messages_to_dict

    from sovereign_agents.tracing import message_key

    recording = Recording()
    for text, answer in (("first", "one"), ("second", "two")):
        messages = [HumanMessage(content=text)]
        recording.add(
            {
                "kind": "chat",
                "role": "planner",
                "model": "m",
                "key": message_key(messages),
                "response": messages_to_dict([AIMessage(content=answer)])[0],
                "parsed": None,
            }
        )
    model = ReplayChatModel(model="m", recording=recording)
    assert model.invoke([HumanMessage(content="second")]).content == "two"
    assert model.invoke([HumanMessage(content="first")]).content == "one"
    with pytest.raises(Exception, match="no recorded answer"):
        model.invoke([HumanMessage(content="third")])


def test_trace_show_renders_nodes_and_calls(daily_corpus: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run_research(GOAL, Context(corpus=str(daily_corpus)), run)
    proc = sovereign("trace", "show", str(run))
    assert proc.returncode == 0, proc.stderr
    for text in ("plan", "search local", "embeddings lsa-tfidf-svd", "skeptic", "report"):
        assert text in proc.stdout


@pytest.mark.slow
def test_review_disputed_pauses_and_records_the_human_verdict(
    daily_corpus: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    paused = sovereign(
        "run", GOAL, "--corpus", str(daily_corpus), "--out", str(run), "-q",
        "--review-disputed", "--set", "grey_zone=1.0",
    )  # fmt: skip
    assert paused.returncode == 0, paused.stderr
    assert "paused at: human_review" in paused.stdout
    pending = [line.split()[1] for line in paused.stdout.splitlines() if "disputed C" in line]
    assert pending
    no_answer = sovereign("resume", str(run))
    assert no_answer.returncode != 0 and "waits for an answer" in no_answer.stderr
    wrong = sovereign("resume", str(run), "--verdict", "Cdeadbeef=supported")
    assert wrong.returncode != 0 and "no disputed claim" in wrong.stderr

    done = sovereign("resume", str(run), "--verdict", f"{pending[0]}=rejected", "-q")
    assert done.returncode == 0, done.stderr
    claims = {c["id"]: c for c in report(run)["claims"]}
    assert claims[pending[0]]["human_verdict"] == "rejected"
    assert "(human: rejected)" in (run / "report.md").read_text()


def test_no_pause_without_disputes(daily_corpus: Path, tmp_path: Path) -> None:
    context = Context(corpus=str(daily_corpus), review_disputed=True, grey_zone=0.0)
    result = run_research("How does speculative decoding speed up inference?", context, tmp_path)
    assert not result.paused and result.report_json is not None
