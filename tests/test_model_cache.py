"""The --cache database of model answers: data only (no pickle), validated, rebuilt when it
is not what it should be (and the run says so, naming the file), keyed by endpoint."""

from __future__ import annotations

import json
import logging
import pickle
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from sovereign_agents import Context
from sovereign_agents.models.call_cache import ModelCallCache
from sovereign_agents.models.specs import resolve_chat_model
from sovereign_agents.models.structured import CallPolicy, call_structured
from sovereign_agents.role_schemas import PlanOutput
from sovereign_agents.runner import run_research
from tests.servers.fake_nim import FakeNim

GOAL = "How does sparse mixture-of-experts routing reduce the cost of cached inference?"
PLAN = [HumanMessage(content="You plan a literature search\n<<<GOAL\nsparse experts\nGOAL>>>")]


class Planted:
    """Unpickling this would create a marker file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def ask(url: str, cache: ModelCallCache) -> tuple[list[str], list[str]]:
    model = resolve_chat_model("nvidia:fake", url)
    outcome = call_structured(
        model,
        PLAN,
        PlanOutput,
        role="planner",
        prompt_ref="planner@v1",
        model_label="fake",  # the same model name on both servers
        policy=CallPolicy(first_mode="prompt"),
        cache=cache,
    )
    return outcome.value.queries, outcome.notes


def test_two_endpoints_with_the_same_model_name_do_not_share_answers(tmp_path: Path) -> None:
    servers = [FakeNim().start(), FakeNim().start()]
    try:
        for server, word in zip(servers, ("alpha", "beta"), strict=True):
            server.answer = lambda prompt, word=word: {"queries": [f"{word} routing"]}
        cache = ModelCallCache(tmp_path / "model-calls.sqlite")
        assert ask(servers[0].url, cache)[0] == ["alpha routing"]
        assert ask(servers[1].url, cache)[0] == ["beta routing"]
        # each answer is cached under its own endpoint: asking again sends nothing
        assert ask(servers[0].url, cache)[0] == ["alpha routing"]
        assert ask(servers[1].url, cache)[0] == ["beta routing"]
        assert [len(s.chat_requests()) for s in servers] == [1, 1]
    finally:
        for server in servers:
            server.stop()


@pytest.mark.parametrize("damage", ["garbage", "pickle", "old-schema", "bad-entry"])
def test_a_damaged_cache_is_rebuilt_and_the_run_says_so(
    damage: str,
    fake_nim: Any,
    daily_corpus: Path,
    tmp_path: Path,
    isolated_cache: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # the session's cache folder (its corpus indexes are warm); the goal is this test's own
    path = isolated_cache / "model-calls.sqlite"
    path.with_name(path.name + ".corrupt").unlink(missing_ok=True)
    context = Context(
        corpus=str(daily_corpus),
        role_llms={"planner": "nvidia:fake"},
        model_cache=True,
        max_papers=2,
        max_revisions=0,
    )
    goal = f"{GOAL} ({damage})"  # answers of its own: none cached by an earlier test
    marker = tmp_path / "code-ran"
    if damage == "garbage":
        path.write_bytes(b"\x00not a database at all" * 100)
    elif damage == "pickle":
        path.write_bytes(pickle.dumps(Planted(marker)))
    elif damage == "old-schema":
        path.unlink(missing_ok=True)
        with sqlite3.connect(path) as db:  # the format before this one: no version, no endpoint
            db.execute("CREATE TABLE calls (key TEXT PRIMARY KEY, response TEXT, created REAL)")
    else:
        started = time.time()
        run_research(goal, context, tmp_path / "warm")  # a good cache, then a bad entry
        with sqlite3.connect(path) as db:
            db.execute(
                "UPDATE calls SET response = ? WHERE created >= ?",
                (json.dumps({"type": "ai", "x": 1}), started),
            )
        fake_nim.reset()
    with caplog.at_level(logging.WARNING, logger="sovereign_agents.models.call_cache"):
        result = run_research(goal, context, tmp_path / "run")
    report = json.loads(result.report_json.read_text())  # type: ignore[union-attr]
    notes = [u["message"] for u in report["uncertainties"] if str(path) in u["message"]]
    assert len(notes) == 1, report["uncertainties"]
    expected = "did not load" if damage == "bad-entry" else "rebuilt empty"
    assert expected in notes[0] and expected in caplog.text and str(path) in caplog.text
    assert not marker.exists(), "the cache unpickled something"
    assert len(fake_nim.chat_requests()) >= 1  # the model was asked again
    assert report["model_calls"] >= 1
    if damage != "bad-entry":
        assert path.with_name(path.name + ".corrupt").is_file()
    # the rebuilt cache serves the next identical run, and it has nothing more to say
    again = run_research(goal, context, tmp_path / "again")
    report = json.loads(again.report_json.read_text())  # type: ignore[union-attr]
    assert report["model_calls"] == 0
    assert not [u for u in report["uncertainties"] if str(path) in u["message"]]


def test_a_cache_damaged_while_in_use_is_rebuilt_on_the_next_read(tmp_path: Path) -> None:
    from langchain_core.messages import AIMessage

    path = tmp_path / "model-calls.sqlite"
    cache = ModelCallCache(path)
    key = cache.key("fake", "prompt", None, PLAN, "http://a/v1")
    cache.put(key, AIMessage(content='{"queries": ["a"]}'))
    assert cache.get(key) is not None and cache.take_notices() == []
    path.write_bytes(b"\x00garbage" * 4096)  # damaged in place, after it was opened
    assert cache.get(key) is None
    notices = cache.take_notices()
    assert len(notices) == 1 and str(path.resolve()) in notices[0]
    cache.put(key, AIMessage(content='{"queries": ["a"]}'))  # usable again
    assert cache.get(key) is not None
    assert cache.key("fake", "prompt", None, PLAN, "http://b/v1") != key
