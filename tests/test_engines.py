"""The engines plug: one model-spec parser, engines resolved once per run, the stance judge as
an engine role, and ``models`` (low-level pieces) never importing ``engines``."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from sovereign_agents import Context
from sovereign_agents.engines import EXTRACTIVE, engine_for, is_extractive, validate_specs
from sovereign_agents.engines.chat import ChatEngine
from sovereign_agents.errors import ConfigError
from sovereign_agents.model_spec import is_spec_string, parse_spec
from sovereign_agents.models.structured import CallPolicy
from sovereign_agents.testing import ScriptedEngine, fake_chat_model
from sovereign_agents.verification.hybrid import HybridVerifier
from sovereign_agents.verification.judged import JudgedVerifier
from sovereign_agents.verification.resolve import build_verifier, stance_judge

PACKAGE = Path(__file__).resolve().parents[1] / "sovereign_agents"


def test_one_parser_for_every_model_spec() -> None:
    assert parse_spec("extractive").offline and parse_spec(None).offline and parse_spec("").offline
    assert parse_spec("lsa", "embeddings").offline
    nim = parse_spec("nvidia:meta/llama-3.1-8b-instruct")
    assert nim.nvidia and nim.model == "meta/llama-3.1-8b-instruct"
    model = fake_chat_model([])
    assert parse_spec(model).kind == "object" and parse_spec(model).value is model
    for bad in ("nvidia:", "openai:", ":gpt", "gpt-4", "lsa", "NVIDIA:x", " extractive", "a b:c"):
        with pytest.raises(ConfigError, match="unknown llm spec"):
            parse_spec(bad)
    with pytest.raises(ConfigError, match="unknown embeddings spec 'extractive'"):
        parse_spec("extractive", "embeddings")
    with pytest.raises(ConfigError, match="for role skeptic"):
        engine_for("skeptic", Context(role_llms={"skeptic": "gpt-4"}))
    # a run.json's recorded object (its class name) is not a spec
    assert is_spec_string("nvidia:m") and not is_spec_string("GenericFakeChatModel")
    assert is_extractive("extractive") and not is_extractive("bogus")


def test_engines_are_resolved_once_per_run() -> None:
    context = Context(llm=fake_chat_model([]))
    validate_specs(context)  # the plan node resolves every role once
    skeptic = engine_for("skeptic", context)
    assert isinstance(skeptic, ChatEngine) and skeptic.role == "skeptic"
    assert engine_for("skeptic", context) is skeptic
    assert engine_for("judge", context) is not skeptic  # one engine per role
    assert engine_for("skeptic", Context(llm=fake_chat_model([]))) is not skeptic
    assert engine_for("writer", Context()) is EXTRACTIVE


def test_the_judge_is_an_engine_role() -> None:
    offline = EXTRACTIVE.judge(["a claim"], ["its evidence"])
    assert offline.value == [None] and not EXTRACTIVE.judges_stance
    reply = json.dumps({"label": "CONTRADICT", "quote": "q"})
    policy = CallPolicy(first_mode="prompt", output_retries=0)
    chat = ChatEngine(
        fake_chat_model([reply, "not json"]), Context(max_concurrency=1), "judge", policy
    )
    result = chat.judge(["claim one", "claim two"], ["evidence one", "evidence two"])
    assert chat.judges_stance and result.model_calls == 2
    assert result.value[0] is not None and result.value[0].label == "CONTRADICT"
    assert result.value[1] is None  # failed: no label, the verifier's stance stands
    assert (
        len(result.uncertainties) == 1
        and "failed on 1 of 2 claims" in result.uncertainties[0].message
    )


def test_the_judge_role_decides_whether_the_hybrid_is_judged() -> None:
    assert stance_judge(Context()) is None
    assert stance_judge(Context(llm=ScriptedEngine({}))) is None  # an engine object: no judge
    judged = build_verifier(Context(role_llms={"judge": fake_chat_model([])}))
    assert isinstance(judged, JudgedVerifier) and judged.judge.name == "GenericFakeChatModel"
    record = judged.record()
    assert record.name == "hybrid+judge" and record.stance.startswith("judge GenericFakeChatModel")
    assert [p["role"] for p in record.prompts] == ["judge"]
    # a chat model for the other roles only: no judge
    only_writer = Context(role_llms={"writer": fake_chat_model([])})
    assert isinstance(build_verifier(only_writer), HybridVerifier)
    off = Context(role_llms={"judge": fake_chat_model([])}, stance_judge=False)
    assert isinstance(build_verifier(off), HybridVerifier)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_models_never_import_engines() -> None:
    """``models`` holds the low-level pieces the engines use; any import back (even inside a
    function) would make the two packages a cycle again."""
    for path in sorted((PACKAGE / "models").glob("*.py")):
        back = {m for m in _imports(path) if m.startswith("sovereign_agents.engines")}
        assert not back, f"{path.name} imports {back}"
