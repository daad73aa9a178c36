"""Any LangChain model by string: ``<provider>:<model>`` through ``init_chat_model`` /
``init_embeddings``, beside the NIM path. The OpenAI client runs against the scripted
OpenAI-compatible server (fast) and against a real llama.cpp server (slow); a run made so is
resumed and replayed; a provider whose package is missing is one clear line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from sovereign_agents.context import Context
from sovereign_agents.embeddings import check_embeddings_spec
from sovereign_agents.engines import engine_for, validate_specs
from sovereign_agents.errors import ConfigError
from sovereign_agents.model_spec import is_spec_string, parse_spec
from sovereign_agents.models.specs import resolve_chat_model
from sovereign_agents.replay import differences, replay_context
from sovereign_agents.runner import read_run, resume_run, run_research
from tests.test_bad_input import sovereign

GOAL = "How do mixture-of-experts models reduce inference cost?"


def report(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "report.json").read_text())


def chat_calls(run_dir: Path) -> list[dict[str, Any]]:
    return [
        c
        for line in (run_dir / "trace.jsonl").read_text().splitlines()
        for c in json.loads(line).get("calls", [])
        if c["kind"] == "chat"
    ]


@pytest.fixture
def openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider's own conventions: a key in OPENAI_API_KEY (any value for a local server)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def test_provider_specs_parse_beside_the_nim_and_offline_ones() -> None:
    spec = parse_spec("openai:gpt-4o-mini")
    assert (spec.kind, spec.provider, spec.model) == ("provider", "openai", "gpt-4o-mini")
    assert parse_spec("ollama:llama3.2:1b").model == "llama3.2:1b"  # a tag keeps its colon
    assert parse_spec("nvidia:meta/llama-3.1-8b-instruct").nvidia  # NIM stays our own path
    assert parse_spec("openai:text-embedding-3-small", "embeddings").kind == "provider"
    assert is_spec_string("anthropic:claude-sonnet-4-5") and not is_spec_string("ChatOpenAI")


def test_openai_spec_builds_a_chat_openai_on_our_base_url_without_client_retries(
    openai_env: None,
) -> None:
    from langchain_openai import ChatOpenAI

    model = resolve_chat_model("openai:some-model", "http://127.0.0.1:9/v1", max_tokens=77)
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "some-model" and model.openai_api_base == "http://127.0.0.1:9/v1"
    assert model.temperature == 0 and model.max_tokens == 77
    assert model.max_retries == 0  # our call ladder retries; attempts never multiply
    assert resolve_chat_model("openai:some-model", "http://127.0.0.1:9/v1", max_tokens=77) is model


def test_the_providers_own_env_is_followed_when_no_base_url_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8/v1")
    model = resolve_chat_model("openai:env-model")
    assert str(model.root_client.base_url).rstrip("/") == "http://127.0.0.1:8/v1"  # type: ignore[attr-defined]


def test_a_missing_provider_package_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "langchain_anthropic", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "langchain_ollama", None)
    with pytest.raises(ConfigError, match=r"pip install langchain-anthropic") as caught:
        engine_for("skeptic", Context(role_llms={"skeptic": "anthropic:claude-sonnet-4-5"}))
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match=r"pip install langchain-ollama"):
        check_embeddings_spec("ollama:nomic-embed-text")
    with pytest.raises(ConfigError, match=r"Unsupported provider=.acme."):
        validate_specs(Context(llm="acme:model-1"))


def test_cli_names_the_missing_package_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, daily_corpus: Path, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "langchain_anthropic", None)
    outcome = sovereign(
        "run", GOAL, "--corpus", str(daily_corpus), "--llm", "anthropic:claude-sonnet-4-5",
        "--out", str(tmp_path / "run"), "-q",
    )  # fmt: skip
    assert outcome.returncode != 0
    assert "langchain-anthropic" in outcome.stderr and "Traceback" not in outcome.stderr
    assert len(outcome.stderr.strip().splitlines()) == 1, outcome.stderr


def test_openai_spec_run_is_resumed_and_replayed(
    openai_env: None, fake_nim: Any, daily_corpus: Path, tmp_path: Path
) -> None:
    """A whole run on ``openai:fake`` (ChatOpenAI and OpenAIEmbeddings over HTTP), paused
    before the draft and resumed from its run.json, then replayed with no request."""
    context = Context(
        corpus=str(daily_corpus),
        llm="openai:fake",
        embeddings="openai:fake",
        llm_base_url=fake_nim.url,
        max_papers=4,
    )
    run = tmp_path / "run"
    run_research(GOAL, context, run, interrupt_before=["draft"])
    assert not (run / "report.json").exists()
    assert read_run(run)["context"]["llm"] == "openai:fake"
    before_resume = len(fake_nim.chat_requests())
    assert before_resume > 0

    resume_run(run)  # the spec is re-resolved from run.json: no context given
    assert len(fake_nim.chat_requests()) > before_resume  # the writer and reviewers asked
    done = report(run)
    assert set(done["models"]["chat"].values()) == {"fake"}
    assert done["models"]["embedding"] == "fake"
    calls = chat_calls(run)
    assert {c["role"] for c in calls} >= {"planner", "extractor", "writer", "skeptic"}
    assert all(c["model"] == "fake" for c in calls)

    requests = len(fake_nim.requests)
    replayed = replay_context(run)
    run_research(GOAL, replayed, tmp_path / "replay")
    assert len(fake_nim.requests) == requests  # not one request more
    assert list(differences(done, report(tmp_path / "replay"))) == []
    assert report(tmp_path / "replay")["models"] == done["models"]


@pytest.mark.integration
@pytest.mark.slow
def test_openai_spec_on_a_real_llama_cpp_server(
    openai_env: None, llama_server: Any, daily_corpus: Path, tmp_path: Path
) -> None:
    """One reviewer on ``openai:gemma3`` served by llama.cpp (the same server as the NIM
    test): the report names the model; the run resumes and replays."""
    context = Context(
        corpus=str(daily_corpus),
        role_llms={"skeptic": "openai:gemma3"},
        llm_base_url=llama_server.url,
        n_queries=2,
        max_papers=2,
        max_revisions=0,
        max_tokens=128,
        model_output_retries=1,
        model_http_retries=1,
    )
    run = tmp_path / "run"
    run_research(GOAL, context, run, interrupt_before=["draft"])
    resume_run(run)
    done = report(run)
    assert done["models"]["chat"]["skeptic"] == "gemma3"
    calls = [c for c in chat_calls(run) if c["role"] == "skeptic"]
    assert calls and any(c["response"] for c in calls)  # real answers came back over HTTP
    replayed = replay_context(run)
    run_research(GOAL, replayed, tmp_path / "replay")
    assert list(differences(done, report(tmp_path / "replay"))) == []
