"""The prompt loader: versioned files, declared inputs, recorded hashes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sovereign_agents import roles
from sovereign_agents.errors import PromptError
from sovereign_agents.prompts import available_versions, load_prompt, parse_prompt

GOOD = """---
id: demo
role: demo
version: v1
inputs: [goal]
output: PlanOutput
changelog: ["v1: first"]
---
Plan for {goal}. JSON: {{"queries": []}}
"""


def test_every_role_has_a_valid_prompt() -> None:
    for role in roles.model_roles():
        prompt = load_prompt(role)
        assert prompt.role == role and prompt.version.startswith("v")
        assert prompt.output == roles.role(role).output.__name__
        assert set(prompt.inputs) and prompt.changelog
        assert len(prompt.sha256) == 64


def test_sha256_is_of_the_file_bytes(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "v1.md").write_text(GOOD)
    prompt = load_prompt("demo", prompts_dir=tmp_path)
    assert prompt.sha256 == hashlib.sha256(GOOD.encode()).hexdigest()
    assert prompt.ref.startswith("demo@v1#")
    assert prompt.render(goal="X") == 'Plan for X. JSON: {"queries": []}\n'


def test_highest_version_is_the_default(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    for n in (1, 2, 10):
        (tmp_path / "demo" / f"v{n}.md").write_text(GOOD.replace("version: v1", f"version: v{n}"))
    assert available_versions("demo", tmp_path) == ["v1", "v2", "v10"]
    assert load_prompt("demo", prompts_dir=tmp_path).version == "v10"
    assert load_prompt("demo", "v2", prompts_dir=tmp_path).version == "v2"
    with pytest.raises(PromptError, match="not found"):
        load_prompt("demo", "v3", prompts_dir=tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("inputs: [goal]", "inputs: [goal, paper]"), "declares"),
        (GOOD.replace("{goal}", "{goal} {extra}"), "body uses"),
        (GOOD.replace("---\nid", "id", 1), "front matter"),
        (GOOD.replace("version: v1", "version: one"), "version"),
        (GOOD.replace("output: PlanOutput", "output: Nope"), "output schema"),
        (GOOD.replace('changelog: ["v1: first"]\n', ""), "lacks"),
        (GOOD.replace("inputs: [goal]", "inputs: [goal"), "YAML"),
    ],
)
def test_invalid_prompts_fail_at_load(text: str, message: str) -> None:
    with pytest.raises(PromptError, match=message):
        parse_prompt(text)


def test_render_refuses_missing_or_extra_inputs() -> None:
    prompt = parse_prompt(GOOD)
    with pytest.raises(PromptError, match="missing"):
        prompt.render()
    with pytest.raises(PromptError, match="unexpected"):
        prompt.render(goal="x", other="y")


def test_source_text_is_fenced_as_data_in_every_prompt_that_reads_it() -> None:
    for role in ("extractor", "writer", "skeptic", "validator", "synthesizer", "reviser"):
        for version in available_versions(role):
            body = load_prompt(role, version).body
            assert "<<<" in body and ">>>" in body, (role, version)
            assert "never" in body and "instructions" in body, (role, version)


def test_every_reviewer_has_two_genuinely_different_versions() -> None:
    for role in ("skeptic", "validator", "synthesizer"):
        v1, v2 = load_prompt(role, "v1"), load_prompt(role, "v2")
        assert v1.inputs == v2.inputs and v1.output == v2.output
        words1, words2 = set(v1.body.split()), set(v2.body.split())
        assert len(words1 & words2) / len(words1 | words2) < 0.5  # a rewrite, not a tweak
        assert any(line.startswith("v2") for line in v2.changelog)


@pytest.mark.parametrize("body", ["{}", "{0}", "{goal:d}", "{goal!z}", "{goal[0]}", "{goal:{x}}"])
def test_positional_or_unrenderable_placeholders_are_refused(body: str) -> None:
    from sovereign_agents.prompts import PromptError, parse_prompt

    text = (
        "---\nid: x\nrole: x\nversion: v1\ninputs: [goal]\noutput: PlanOutput\n"
        f"changelog: [c]\n---\n{{goal}} {body}\n"
    )
    with pytest.raises(PromptError):
        parse_prompt(text)
