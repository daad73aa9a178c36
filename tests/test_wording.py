"""The CLI's lines and the report read as sentences: counted nouns agree with their number,
scores near the 6.5 threshold keep two decimals, and one final line says which decision stands."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from sovereign_agents import Context, build_graph
from sovereign_agents.cli.common import decision_line
from sovereign_agents.nodes.policy import decide
from sovereign_agents.schemas import PolicyDecision
from sovereign_agents.testing import ScriptedEngine
from sovereign_agents.wording import count, plural, score

GOAL = "How do mixture-of-experts models reduce inference cost?"
# a count followed by a plural noun where the count is 1, a "(s)", or a word said twice
BAD = re.compile(r"(?<![\d.])1 (?:[a-z-]+ )?(?:claims|papers|queries|calls|answers|results)\b")


@pytest.mark.parametrize(
    ("n", "noun", "expected"),
    [
        (0, "claim", "0 claims"),
        (1, "claim", "1 claim"),
        (2, "verified claim", "2 verified claims"),
        (1, "new query", "1 new query"),
        (3, "new query", "3 new queries"),
        (4, "day", "4 days"),
        (2, "pass", "2 passes"),
    ],
)
def test_count_agrees_with_its_number(n: int, noun: str, expected: str) -> None:
    assert count(n, noun) == expected


def test_plural_and_score() -> None:
    assert plural("paper") == "papers" and plural("query") == "queries"
    assert score(6.48) == "6.48" and score(6.5) == "6.50" and score(8) == "8.00"


def test_a_mean_just_under_the_threshold_is_not_rounded_up_to_it() -> None:
    context = Context()
    reason = decide(6.48, 12, 5, context).reason
    assert "6.48 < 6.5" in reason and "6.5 <" not in reason


def test_policy_reasons_count_properly() -> None:
    context = Context()
    rules = context.policy
    approve = decide(9.0, 1, 5, Context(policy=type(rules)(min_verified_claims=1)))
    assert approve.reason.endswith("with 1 verified claim")
    short = decide(9.0, 1, 5, Context(policy=type(rules)(min_verified_claims=3)))
    assert short.reason.startswith("1 verified claim;")


def decision(policy: str, reason: str) -> PolicyDecision:
    return PolicyDecision.model_validate({"policy": policy, "reason": reason, "rules": {}})


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {
                "policy": "AUTO_APPROVE",
                "verdict": "APPROVE",
                "tribunal_score": 7.98,
                "decision": decision(
                    "AUTO_APPROVE", "tribunal 7.98 >= 6.5 with 39 verified claims"
                ),
            },
            "Decision: AUTO_APPROVE — tribunal 7.98 >= 6.5 with 39 verified claims; "
            "the tribunal's verdict was APPROVE, the policy decides.",
        ),
        (
            {
                "policy": "HUMAN_REVIEW",
                "verdict": "REJECT",
                "tribunal_score": 4.62,
                "decision": decision(
                    "HUMAN_REVIEW", "tribunal 4.62 < 6.5 after the revision round"
                ),
            },
            "Decision: HUMAN_REVIEW — tribunal 4.62 < 6.5 after the revision round; "
            "the tribunal's verdict was REJECT, the policy decides.",
        ),
        (  # the reason does not give the score: the line does (read back from a checkpoint)
            {
                "policy": "REJECT",
                "verdict": "APPROVE",
                "tribunal_score": 7.1,
                "decision": {"reason": "no claim could be verified against its source"},
            },
            "Decision: REJECT — no claim could be verified against its source; "
            "the tribunal's verdict was APPROVE at 7.10/10, the policy decides.",
        ),
    ],
)
def test_the_final_line_names_the_decision_that_stands(
    values: dict[str, Any], expected: str
) -> None:
    assert decision_line(values) == expected


def progress_messages(corpus: Path, **knobs: Any) -> list[dict[str, Any]]:
    graph = build_graph()
    return [
        chunk
        for chunk in graph.stream(
            {"goal": GOAL},
            context=Context(corpus=str(corpus), llm=ScriptedEngine({0: 4.0, 1: 8.0}), **knobs),
            stream_mode="custom",
        )
        if chunk.get("event") == "progress"
    ]


def test_progress_lines_read_as_sentences(daily_corpus: Path) -> None:
    """A run where one claim per paper is taken: every count of 1 must be singular."""
    events = progress_messages(daily_corpus, claims_per_paper=1, n_queries=1, max_papers=3)
    lines = [f"{e['node']} {e['message']}" for e in events]
    text = "\n".join(lines)
    assert "1 claim from " in text  # the case that used to read "1 claims"
    assert not BAD.search(text), BAD.search(text)
    assert "(s)" not in text
    for line in lines:
        words = line.split()
        assert words[0] != words[1], line  # no "policy policy AUTO_APPROVE"
    aggregate = [e["message"] for e in events if e["node"] == "aggregate"]
    assert aggregate[0] == "round 0: tribunal 4.00/10 < 6.5 -> REVISE"
    assert aggregate[1] == "round 1: tribunal 8.00/10 >= 6.5 -> APPROVE"


def test_a_run_with_no_claim_says_so_not_that_verification_failed() -> None:
    context = Context()
    none_found = decide(0.0, 0, 5, context, n_claims=0, n_papers=17)
    assert none_found.policy.value == "REJECT"
    assert (
        none_found.reason
        == "no claim was found: none of the 17 papers read states a finding on the goal"
    )
    unverified = decide(0.0, 0, 5, context, n_claims=4, n_papers=17)
    assert unverified.reason == "no claim could be verified against its source"
