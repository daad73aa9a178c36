"""The roles registry: one entry and one prompt file add a reviewer; every roster follows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from statistics import fmean
from typing import Any

import pytest

from sovereign_agents import Context, build_graph, roles
from sovereign_agents.errors import ConfigError, PromptError
from sovereign_agents.prompts import default_prompts_dir
from sovereign_agents.role_schemas import PlanOutput, ReviewOutput
from sovereign_agents.roles import Role
from sovereign_agents.runner import run_research
from sovereign_agents.schemas import Draft, ReviewIssue
from sovereign_agents.signals import RunSignals

GOAL = "How do mixture-of-experts models reduce inference cost?"
CRITIC_PROMPT = """---
id: critic
role: critic
version: v1
inputs: [goal, draft, claims, signals]
output: {output}
changelog:
  - "v1: a fourth reviewer, added by a test"
---
Role: CRITIC. Judge whether the draft answers {{goal}}.

<<<DRAFT
{{draft}}
DRAFT>>>

<<<CLAIMS
{{claims}}
CLAIMS>>>

Numbers measured on this run: {{signals}}

Reply with one JSON object: {{{{"score": 0, "issues": [], "rationale": "..."}}}}
"""


def critic_score(signals: RunSignals, draft: Draft) -> tuple[float, list[ReviewIssue], str]:
    """A harsh fourth reviewer: 2/10 unless every claim is verified."""
    harsh = 2.0 if signals.unverified_ids or signals.n_claims == 0 else 9.0
    issue = ReviewIssue(text="a critic's objection", claim_ids=signals.unverified_ids[:2])
    return harsh, [issue], f"{signals.n_verified} of {signals.n_claims} claims verified"


def prompts_with_critic(tmp_path: Path, output: str = "ReviewOutput") -> Path:
    """The packaged prompts plus one file: prompts/critic/v1.md."""
    root = tmp_path / "prompts"
    shutil.copytree(default_prompts_dir(), root)
    (root / "critic").mkdir()
    (root / "critic" / "v1.md").write_text(CRITIC_PROMPT.format(output=output))
    return root


CRITIC = Role("critic", "reviewer", ReviewOutput, "review", critic_score, "a fourth reviewer")


def test_a_fourth_reviewer_is_one_entry_and_one_prompt_file(
    daily_corpus: Path, tmp_path: Path
) -> None:
    prompts = prompts_with_critic(tmp_path)
    with roles.registered(CRITIC):
        assert roles.reviewer_names() == ("skeptic", "validator", "synthesizer", "critic")
        context = Context(corpus=str(daily_corpus), prompts_dir=str(prompts))
        result = run_research(GOAL, context, tmp_path / "run")
    assert result.report_json and result.report_md
    report = json.loads(result.report_json.read_text())
    md = result.report_md.read_text()
    tribunal = report["tribunal"]
    # the tribunal sat with four reviewers in every round, and its score is their mean
    assert [r["role"] for r in tribunal["reviews"]] == [
        "critic",
        "skeptic",
        "synthesizer",
        "validator",
    ]
    for rnd in tribunal["rounds"]:
        scores = rnd["scores"]
        assert sorted(scores) == ["critic", "skeptic", "synthesizer", "validator"]
        assert rnd["score"] == round(fmean(scores.values()), 2)
        three = round(fmean(v for k, v in scores.items() if k != "critic"), 2)
        assert rnd["score"] != three  # the harsh critic counts
    critic = next(r for r in tribunal["reviews"] if r["role"] == "critic")
    assert (
        critic["engine"] == "extractive" and critic["issues"][0]["text"] == "a critic's objection"
    )
    # its prompt was loaded, validated and recorded like the others
    recorded = {p["role"]: p for p in report["prompts"]}
    assert recorded["critic"]["version"] == "v1" and recorded["critic"]["used_by"] == "extractive"
    # the report names it: Methodology, Results, the issues list
    methodology = md.split("## 2 Methodology")[1].split("## 3 Results")[0]
    assert (
        "Tribunal: 4-role parallel review (SKEPTIC/VALIDATOR/SYNTHESIZER/CRITIC; "
        "SKEPTIC=extractive, VALIDATOR=extractive, SYNTHESIZER=extractive, CRITIC=extractive), "
        "score = mean of the four;" in methodology
    )
    results = md.split("## 3 Results")[1].split("## 4")[0]
    assert "CRITIC " in results and "- CRITIC [medium]: a critic's objection" in results
    # the trace has a critic node per round, beside the other reviewers
    nodes = [json.loads(line)["node"] for line in result.trace.read_text().splitlines()]
    assert nodes.count("critic") == len(tribunal["rounds"]) == nodes.count("skeptic")
    # and after the block the registry is the default again
    assert roles.reviewer_names() == ("skeptic", "validator", "synthesizer")
    assert "critic" not in build_graph().get_graph().nodes


def test_the_default_methodology_names_the_three_reviewers(daily_corpus: Path) -> None:
    out = build_graph().invoke({"goal": GOAL}, context=Context(corpus=str(daily_corpus)))
    assert (
        "Tribunal: 3-role parallel review (SKEPTIC/VALIDATOR/SYNTHESIZER; SKEPTIC=extractive, "
        "VALIDATOR=extractive, SYNTHESIZER=extractive), score = mean of the three;"
    ) in out["report_markdown"]


def test_a_reviewer_without_an_offline_scorer_fails_when_the_graph_is_built() -> None:
    scorerless = Role("critic", "reviewer", ReviewOutput, "review")
    with roles.registered(scorerless), pytest.raises(ConfigError) as caught:
        build_graph()
    message = str(caught.value)
    assert "reviewer 'critic' has no offline scorer" in message and "\n" not in message
    build_graph()  # unregistered again: the default graph builds


def test_the_cli_reports_a_missing_scorer_in_one_line(daily_corpus: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sovereign_agents.cli import app

    args = ["run", GOAL, "--corpus", str(daily_corpus), "--out", str(tmp_path / "run")]
    with roles.registered(Role("critic", "reviewer", ReviewOutput, "review")):
        result = CliRunner().invoke(app, args)
    err = result.stderr.strip()
    assert result.exit_code != 0 and "no offline scorer" in err and len(err.splitlines()) == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "run" / "report.json").exists()


def test_a_prompt_answering_in_another_schema_fails_before_the_run(
    daily_corpus: Path, tmp_path: Path
) -> None:
    prompts = prompts_with_critic(tmp_path, output="PlanOutput")
    context = Context(corpus=str(daily_corpus), prompts_dir=str(prompts))
    with roles.registered(CRITIC), pytest.raises(PromptError, match="answers in ReviewOutput"):
        build_graph().invoke({"goal": GOAL}, context=context)


def test_a_missing_prompt_file_fails_before_the_run(daily_corpus: Path) -> None:
    with roles.registered(CRITIC), pytest.raises(PromptError, match="no prompt files for role"):
        build_graph().invoke({"goal": GOAL}, context=Context(corpus=str(daily_corpus)))


def test_the_context_knows_a_registered_role_only_while_it_is_registered() -> None:
    with roles.registered(CRITIC):
        assert Context(role_llms={"critic": "extractive"}, prompt_versions={"critic": "v1"})
    with pytest.raises(ConfigError, match=r"role_llms must be an object keyed by the registered"):
        Context(role_llms={"critic": "extractive"})
    with pytest.raises(
        ConfigError, match=r"prompt_versions must be an object keyed by the registered"
    ):
        Context(prompt_versions={"critic": "v1"})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (("Critic", "reviewer", ReviewOutput, "review", critic_score), "lower-case"),
        (("draft", "reviewer", ReviewOutput, "review", critic_score), "clash"),
        (("critic", "reviewer", PlanOutput, "review", critic_score), "ReviewOutput"),
        (("critic", "reviewer", ReviewOutput, "revise", critic_score), "'review'"),
        (("critic", "writer", ReviewOutput, "write", critic_score), "only a reviewer"),
    ],
)
def test_a_malformed_role_is_refused(fields: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Role(*fields)


def test_a_role_is_registered_once_and_unknown_roles_are_named() -> None:
    with pytest.raises(ConfigError, match="already registered"):
        roles.register(roles.role("skeptic"))
    with pytest.raises(ConfigError, match="unknown role 'critic'; known: planner, extractor"):
        roles.role("critic")
    assert roles.in_order(["zeta", "synthesizer", "skeptic", "alpha", "skeptic"]) == [
        "skeptic",
        "synthesizer",
        "alpha",
        "zeta",
    ]
