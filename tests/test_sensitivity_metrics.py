"""Sensitivity metrics on hand-made outcomes, and the perturbed prompt folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from sovereign_agents.evals.perturb import paraphrase, reorder, write_perturbed_prompts
from sovereign_agents.evals.sensitivity_metrics import (
    Outcome,
    flip_rate,
    score_std_across,
    score_std_within,
    summarize,
    threshold_crossing_rate,
)
from sovereign_agents.prompts import load_prompt


def o(condition: str, repeat: int, score: float, verdict: str) -> Outcome:
    return Outcome(
        condition=condition,
        repeat=repeat,
        score=score,
        verdict=verdict,
        policy="AUTO_APPROVE" if verdict == "APPROVE" else "HUMAN_REVIEW",
        rounds=[score],
    )


OUTCOMES = [
    o("a@v1", 0, 7.0, "APPROVE"),
    o("a@v1", 1, 8.0, "APPROVE"),
    o("a@v2", 0, 6.0, "REJECT"),
    o("a@v2", 1, 7.0, "APPROVE"),
    o("b@v2", 0, 4.0, "REJECT"),
    o("b@v2", 1, 4.0, "REJECT"),
]


def test_flip_rate_counts_verdicts_that_differ_from_the_baseline() -> None:
    assert flip_rate(OUTCOMES, "a@v1") == pytest.approx(3 / 4)


def test_threshold_crossing_counts_the_other_side_of_the_line() -> None:
    # baseline mean 7.5 >= 6.5; the others: 6.0 (crosses), 7.0, 4.0 (crosses), 4.0 (crosses)
    assert threshold_crossing_rate(OUTCOMES, "a@v1", 6.5) == pytest.approx(3 / 4)


def test_std_is_split_into_prompt_effect_and_sampling_noise() -> None:
    # condition means 7.5, 6.5, 4.0 -> population std
    means = [7.5, 6.5, 4.0]
    mu = sum(means) / 3
    across = (sum((m - mu) ** 2 for m in means) / 3) ** 0.5
    assert score_std_across(OUTCOMES) == pytest.approx(across)
    # within: std of (7, 8) = 0.5, (6, 7) = 0.5, (4, 4) = 0 -> mean 1/3
    assert score_std_within(OUTCOMES) == pytest.approx(1 / 3)


def test_summary_and_degenerate_cases() -> None:
    metrics = summarize(OUTCOMES, 6.5)
    assert metrics.baseline == "a@v1" and metrics.baseline_verdict == "APPROVE"
    assert [c.condition for c in metrics.conditions] == ["a@v1", "a@v2", "b@v2"]
    assert metrics.conditions[2].verdicts == {"REJECT": 2}
    only = [o("a@v1", 0, 5.0, "REJECT")]
    assert summarize(only, 6.5).flip_rate == 0.0
    with pytest.raises(ValueError):
        summarize([], 6.5)


def test_perturbed_prompt_folders_validate_and_differ(tmp_path: Path) -> None:
    versions = {"skeptic": "v1", "validator": "v1", "synthesizer": "v1"}
    for kind in ("paraphrase", "reorder", "role-swap"):
        folder = write_perturbed_prompts(kind, versions, tmp_path)
        for role in versions:
            original, perturbed = load_prompt(role, "v1"), load_prompt(role, "v1", folder)
            assert perturbed.inputs == original.inputs
            assert perturbed.body != original.body and perturbed.sha256 != original.sha256
            assert any(kind in line for line in perturbed.changelog)
    swapped = load_prompt("skeptic", "v1", tmp_path / "prompts-role-swap")
    assert swapped.body == load_prompt("validator", "v1").body


def test_paraphrase_and_reorder_keep_placeholders_and_fences() -> None:
    body = load_prompt("skeptic", "v1").body
    for changed in (paraphrase(body), reorder(body)):
        for token in ("{goal}", "{draft}", "{claims}", "{signals}", "<<<DRAFT", "CLAIMS>>>"):
            assert token in changed
    assert reorder(body).strip().splitlines()[-1] == body.strip().splitlines()[-1]


def test_sensitivity_forks_before_the_tribunal_without_upstream_work(
    daily_corpus: Path, tmp_path: Path
) -> None:
    import json

    from sovereign_agents import Context
    from sovereign_agents.evals.sensitivity import run_sensitivity
    from sovereign_agents.runner import run_research
    from sovereign_agents.testing import ScriptedEngine

    run_research(
        "How do mixture-of-experts models reduce inference cost?",
        Context(corpus=str(daily_corpus), llm=ScriptedEngine({0: 8.0})),
        tmp_path / "run",
    )
    engine = ScriptedEngine({0: 8.0})
    metrics = run_sensitivity(
        tmp_path / "run",
        tmp_path / "sens",
        variants=["skeptic@v1", "skeptic@v2"],
        perturbations=["shuffle-claims", "role-swap"],
        repeats=2,
        llm=engine,
    )
    roles = {role for role, _ in engine.calls}
    assert roles == {"skeptic", "validator", "synthesizer"}  # nothing upstream re-ran
    assert len(engine.calls) == 4 * 2 * 3  # 4 conditions x 2 repeats x 3 reviewers
    assert metrics.flip_rate == 0.0 and metrics.score_std_across_conditions == 0.0
    data = json.loads((tmp_path / "sens" / "sensitivity.json").read_text())
    assert len(data["results"]) == 8 and {"flip_rate", "threshold_crossing_rate"} <= set(data)
    assert (tmp_path / "sens" / "sensitivity.png").stat().st_size > 1000
    assert (tmp_path / "run" / "checkpoints.sqlite").exists()  # the original run is untouched
