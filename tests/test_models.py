"""The chat engine and NIM plumbing over real HTTP, against a scripted loopback server."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from sovereign_agents import Context
from sovereign_agents.engines.chat import chat_engine
from sovereign_agents.errors import ConfigError
from sovereign_agents.models.errors import classify
from sovereign_agents.models.nim_embeddings import EmbeddingsInvalid, validate_vectors
from sovereign_agents.models.specs import resolve_chat_model
from sovereign_agents.models.structured import (
    CallFailed,
    CallPolicy,
    OutputInvalid,
    call_structured,
    extract_json,
)
from sovereign_agents.role_schemas import PlanOutput, ReviewOutput
from sovereign_agents.runner import run_research
from sovereign_agents.tracing import message_key
from tests.servers.fake_nim import completion

PLAN = [HumanMessage(content="You plan a literature search\n<<<GOAL\nsparse experts\nGOAL>>>")]


def ask(fake: Any, schema: Any = PlanOutput, **policy: Any) -> tuple[Any, list[float]]:
    sleeps: list[float] = []
    model = resolve_chat_model("nvidia:fake", fake.url)
    policy.setdefault("first_mode", "prompt")  # plain requests: the retries are ours alone
    outcome = call_structured(
        model,
        PLAN,
        schema,
        role="planner",
        prompt_ref="planner@v1",
        model_label="fake",
        policy=CallPolicy(sleep=sleeps.append, **policy),
    )
    return outcome, sleeps


def test_429_is_retried_honouring_retry_after(fake_nim: Any) -> None:
    fake_nim.script([(429, b"rate limited", {"Retry-After": "7"})])
    outcome, sleeps = ask(fake_nim)
    assert outcome.value.queries and sleeps == [7.0]


def test_5xx_is_retried_with_backoff_then_given_up(fake_nim: Any) -> None:
    fake_nim.script([(503, {"message": "busy"}, {})] * 2)
    outcome, sleeps = ask(fake_nim, backoff=0.5)
    assert outcome.value.queries and sleeps == [0.5, 1.0]
    fake_nim.script([(502, {"message": "down"}, {})] * 10)
    with pytest.raises(CallFailed, match="502"):
        ask(fake_nim, http_retries=2)


def test_4xx_is_not_retried(fake_nim: Any) -> None:
    fake_nim.script([(401, {"message": "bad key"}, {})])
    with pytest.raises(CallFailed, match="401"):
        ask(fake_nim)
    assert len(fake_nim.chat_requests()) == 1


def test_invalid_output_is_sent_back_with_the_error(fake_nim: Any) -> None:
    bad = completion("not json at all")
    fake_nim.script([(200, bad, {})])
    model = resolve_chat_model("nvidia:fake", fake_nim.url)
    outcome = call_structured(
        model,
        PLAN,
        PlanOutput,
        role="planner",
        prompt_ref="p",
        model_label="fake",
        policy=CallPolicy(sleep=lambda s: None, first_mode="prompt"),
    )
    assert outcome.calls == 2
    assert outcome.value.queries
    last = fake_nim.chat_requests()[-1]["messages"]
    assert any("not valid" in str(m.get("content")) for m in last)  # the feedback turn


def test_output_still_invalid_raises_after_bounded_retries(fake_nim: Any) -> None:
    fake_nim.answer = lambda prompt: {"score": 42}
    model = resolve_chat_model("nvidia:fake", fake_nim.url)
    with pytest.raises(OutputInvalid, match="score"):
        call_structured(
            model,
            PLAN,
            ReviewOutput,
            role="skeptic",
            prompt_ref="p",
            model_label="fake",
            policy=CallPolicy(output_retries=1, first_mode="prompt"),
        )


def test_unsupported_json_schema_switches_to_json_mode() -> None:
    class Refuses:
        """A model whose structured output is refused like llama.cpp's server refuses it."""

        def __init__(self) -> None:
            self.bound: list[dict[str, Any]] = []

        def with_structured_output(self, *a: Any, **k: Any) -> Any:
            raise Exception("[500] Input should be 'text' or 'json_object' at response_format")

        def bind(self, **kwargs: Any) -> Any:
            self.bound.append(kwargs)
            return self

        def invoke(self, messages: Any, config: Any = None) -> Any:
            from langchain_core.messages import AIMessage

            return AIMessage(content='{"queries": ["a b", "c d"]}')

    model = Refuses()
    outcome = call_structured(
        model,
        PLAN,
        PlanOutput,
        role="planner",  # type: ignore[arg-type]
        prompt_ref="p",
        model_label="m",
    )
    assert outcome.mode == "json_mode" and outcome.value.queries == ["a b", "c d"]
    assert model.bound[0]["response_format"]["type"] == "json_object"
    assert "schema" in model.bound[0]["response_format"]
    assert "unsupported" in outcome.notes[0]


def test_parallel_first_calls_probe_the_mode_once() -> None:
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from langchain_core.messages import AIMessage

    class RefusesSlowly:
        """Refuses structured output after a delay, as a busy llama.cpp server does."""

        def __init__(self) -> None:
            self.structured_requests = 0
            self.lock = threading.Lock()

        def with_structured_output(self, *a: Any, **k: Any) -> Any:
            with self.lock:
                self.structured_requests += 1
            time.sleep(0.2)
            raise Exception("[500] Input should be 'text' or 'json_object' at response_format")

        def bind(self, **kwargs: Any) -> Any:
            return self

        def invoke(self, messages: Any, config: Any = None) -> Any:
            return AIMessage(content='{"queries": ["a b", "c d"]}')

    model = RefusesSlowly()

    def one(_: int) -> str:
        outcome = call_structured(
            model,  # type: ignore[arg-type]
            PLAN,
            PlanOutput,
            role="planner",
            prompt_ref="p",
            model_label="m",
        )
        return outcome.mode

    with ThreadPoolExecutor(max_workers=8) as pool:
        modes = list(pool.map(one, range(8)))
    assert modes == ["json_mode"] * 8
    assert model.structured_requests == 1  # the other seven waited for the first to find out


def test_failure_classification() -> None:
    assert classify(Exception("[429] Too Many Requests")).retryable
    assert classify(Exception("[503] Service Unavailable\nx")).retryable
    assert not classify(Exception("[400] Bad Request")).retryable
    assert classify(Exception("[500] response_format json_schema")).unsupported
    assert classify(ConnectionError("Connection refused")).retryable
    assert classify(Exception("{'Retry-After': '3'} [429]")).retry_after == 3.0


def test_extract_json_finds_the_object() -> None:
    assert extract_json('Sure!\n```json\n{"a": 1}\n```') == {"a": 1}
    assert extract_json('prefix {"a": "line\nbreak"} suffix') == {"a": "line\nbreak"}
    with pytest.raises(ValueError):
        extract_json("no object")


def test_embeddings_are_validated_and_token_vectors_pooled() -> None:
    vectors, pooled = validate_vectors([[[1.0, 3.0], [3.0, 5.0]], [[2.0, 2.0]]], 2)
    assert vectors == [[2.0, 4.0], [2.0, 2.0]] and pooled
    for bad in ([[1.0, math.nan]], [[1.0, 2.0], [1.0]], [[]]):
        with pytest.raises(EmbeddingsInvalid):
            validate_vectors(bad, len(bad))
    with pytest.raises(EmbeddingsInvalid):
        validate_vectors([[1.0]], 2)


def test_specs_need_a_key_or_a_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NVIDIA_BASE_URL", raising=False)
    monkeypatch.delenv("NVIDIA_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="NVIDIA_API_KEY"):
        resolve_chat_model("nvidia:some/model")
    with pytest.raises(ConfigError, match="unknown llm spec"):
        resolve_chat_model("gpt-4o")


def test_telemetry_is_off_by_default(fake_nim: Any) -> None:
    model = resolve_chat_model("nvidia:fake", fake_nim.url)
    assert model.usage_telemetry_enabled is False  # type: ignore[attr-defined]


def test_full_run_with_nim_chat_and_embeddings(
    fake_nim: Any, daily_corpus: Path, tmp_path: Path
) -> None:
    context = Context(
        corpus=str(daily_corpus), llm="nvidia:fake", embeddings="nvidia:fake", max_papers=4
    )
    result = run_research(
        "How does sparse mixture-of-experts routing reduce inference cost?", context, tmp_path
    )
    report = json.loads(result.report_json.read_text())  # type: ignore[union-attr]
    assert set(report["models"]["chat"].values()) == {"fake"}
    assert report["models"]["embedding"] == "fake" and report["models"]["embedding_dim"] == 8
    claims = [c for c in report["claims"] if c["engine"] == "fake"]
    assert claims and all(c["evidence_start"] is not None for c in claims)
    assert report["model_calls"] >= 1 + 4 + 1 + 3  # plan, extracts, draft, three reviewers
    assert [r["score"] for r in report["tribunal"]["reviews"]] == [5.5, 5.5, 5.5]  # v2 prompts
    assert report["tribunal"]["revision_round"] == 1  # 5.5 < 6.5: one revision
    assert not [u for u in report["uncertainties"] if u["kind"] == "fallback"]
    # the stance judge ran on every active claim's evidence, through the same model
    active = [c for c in report["claims"] if c["dropped_in_round"] is None]
    assert active and all(c["stance"] == "SUPPORT" for c in active)
    assert report["verifier"]["name"] == "hybrid+judge"
    assert "judge@v1" in {f"{p['id']}@{p['version']}" for p in report["prompts"]}
    # every chat request is in the trace, with its prompt id@version and a replay key
    calls = [
        c
        for line in result.trace.read_text().splitlines()
        for c in json.loads(line)["calls"]
        if c["kind"] == "chat"
    ]
    assert len(calls) >= report["model_calls"]
    assert all(
        c["prompt"].split("@")[0]
        in {
            "planner",
            "extractor",
            "writer",
            "skeptic",
            "validator",
            "synthesizer",
            "reviser",
            "judge",
        }
        for c in calls
    )
    from langchain_core.messages import messages_from_dict

    first = calls[0]
    assert first["key"] == message_key(messages_from_dict(first["messages"]))


def test_failing_model_degrades_the_run_and_says_so(
    fake_nim: Any, daily_corpus: Path, tmp_path: Path
) -> None:
    fake_nim.answer = lambda prompt: {"nonsense": True}
    context = Context(
        corpus=str(daily_corpus), llm="nvidia:fake", max_papers=3, model_output_retries=0
    )
    result = run_research(
        "How does sparse mixture-of-experts routing reduce inference cost?", context, tmp_path
    )
    report = json.loads(result.report_json.read_text())  # type: ignore[union-attr]
    fallbacks = [u["message"] for u in report["uncertainties"] if u["kind"] == "fallback"]
    for role in ("planner", "extractor", "writer", "skeptic", "validator", "synthesizer"):
        assert any(m.startswith(f"{role} (fake) fell back") for m in fallbacks), role
    assert report["policy"] in {"AUTO_APPROVE", "HUMAN_REVIEW", "REJECT"}
    md = result.report_md.read_text()  # type: ignore[union-attr]
    assert "fell back to the extractive engine" in md


def test_per_role_models_and_the_model_cache(
    fake_nim: Any, daily_corpus: Path, tmp_path: Path
) -> None:
    goal = "How does sparse mixture-of-experts routing reduce inference cost?"
    context = Context(
        corpus=str(daily_corpus),
        role_llms={"skeptic": "nvidia:fake"},
        model_cache=True,
        cache_dir=str(tmp_path / "cache"),
    )
    first = run_research(goal, context, tmp_path / "a")
    report = json.loads(first.report_json.read_text())  # type: ignore[union-attr]
    assert report["models"]["chat"]["skeptic"] == "fake"
    assert report["models"]["chat"]["validator"] == "extractive"
    assert report["model_calls"] >= 1
    second = run_research(goal, context, tmp_path / "b")
    again = json.loads(second.report_json.read_text())  # type: ignore[union-attr]
    assert again["model_calls"] == 0  # every answer came from the cache
    assert again["tribunal"]["score"] == report["tribunal"]["score"]


def test_chat_engine_for_any_langchain_model(daily_corpus: Path) -> None:
    from sovereign_agents.testing import fake_chat_model

    model = fake_chat_model(['{"queries": ["sparse experts", "routing cost"]}'])
    engine = chat_engine(model, "planner", Context(corpus=str(daily_corpus)))
    result = engine.plan("How do sparse experts cut cost?", None, 2)
    assert result.value == ["sparse experts", "routing cost"] and result.model_calls == 1


def test_a_models_remembered_mode_is_not_inherited_by_a_new_model_at_the_same_id() -> None:
    """The mode a model was downgraded to is remembered per live model object: when it is
    collected its entry goes, and an entry left at an id Python gave to a new model is not
    the new model's (keyed by id alone, this made a test depend on the order it ran in)."""
    import gc
    import weakref

    from sovereign_agents.models import structured

    class Model:  # any object: the memo needs only identity and a weak reference
        pass

    memo: structured._PerModel[int] = structured._PerModel()
    old = Model()
    memo.set(old, 2)
    assert memo.get(old) == 2
    key = id(old)
    del old
    gc.collect()
    assert key not in memo._items  # forgotten with the model
    new, gone = Model(), Model()
    dead = weakref.ref(gone)
    del gone
    gc.collect()
    memo._items[id(new)] = (dead, 2)  # a stale entry at the new model's id
    assert memo.get(new) is None
    memo.set(new, 1)
    assert memo.get(new) == 1
