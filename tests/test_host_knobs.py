"""The standard LangChain/LangGraph knobs of a host reach inside the graph: its global LLM
cache, a node cache given to ``build_graph(cache=...)``, its callbacks, and LangSmith-visible
metadata on every model call; diagnostics go through named loggers, never ``print``."""

from __future__ import annotations

import ast
import asyncio
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.globals import get_llm_cache, set_llm_cache
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langgraph.cache.memory import InMemoryCache

from sovereign_agents.context import Context
from sovereign_agents.graph import build_graph
from sovereign_agents.replay import outcome
from sovereign_agents.roles import reviewer_names

GOAL = "How do mixture-of-experts models reduce inference cost?"
PACKAGE = Path(__file__).resolve().parents[1] / "sovereign_agents"


@pytest.fixture
def llm_cache() -> Any:
    """A host's global LLM cache, for the length of one test (the previous one restored)."""
    from langchain_core.caches import InMemoryCache as LLMCache

    previous = get_llm_cache()
    cache = LLMCache()
    set_llm_cache(cache)
    yield cache
    set_llm_cache(previous)


def node_runs(graph: Any, context: Context, **config: Any) -> tuple[Counter[str], dict[str, Any]]:
    """(executions per node, the final state) of one run: each executed node emits one
    ``node`` record on the custom stream, a node served from the cache none."""
    runs: Counter[str] = Counter()
    final: dict[str, Any] = {}
    for mode, chunk in graph.stream(
        {"goal": GOAL}, context=context, stream_mode=["custom", "values"], config=config
    ):
        if mode == "custom" and chunk.get("event") == "node":
            runs[chunk["node"]] += 1
        elif mode == "values":
            final = chunk
    return runs, final


# --- the host's global LLM cache --------------------------------------------------------------
def test_a_hosts_global_llm_cache_serves_an_identical_second_run(
    llm_cache: Any, fake_nim: Any, daily_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``openai:`` through the scripted server: the second run sends no request at all."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    graph = build_graph()
    context = Context(
        corpus=str(daily_corpus), llm="openai:fake", llm_base_url=fake_nim.url, max_papers=4
    )
    first = graph.invoke({"goal": GOAL}, context=context)
    requests = len(fake_nim.chat_requests())
    assert requests > 0 and first["report"]["model_calls"] > 0
    second = graph.invoke({"goal": GOAL}, context=context)
    assert len(fake_nim.chat_requests()) == requests  # not one model request more
    assert outcome(second["report"]) == outcome(first["report"])


def test_the_global_llm_cache_on_the_nim_path_reasks_only_refused_requests(
    llm_cache: Any, fake_nim: Any, daily_corpus: Path
) -> None:
    """ChatNVIDIA tries json_schema first inside each call, and this server (like llama.cpp)
    refuses it; a refusal is an error, which no LLM cache keeps. Every answered request of
    the first run is served from the host's cache in the second."""
    graph = build_graph()
    context = Context(corpus=str(daily_corpus), llm="nvidia:fake", max_papers=4)
    graph.invoke({"goal": GOAL}, context=context)
    answered = [r for r in fake_nim.chat_requests() if not refused(r)]
    assert answered
    fake_nim.requests.clear()
    graph.invoke({"goal": GOAL}, context=context)
    assert all(refused(r) for r in fake_nim.chat_requests())


def refused(request: dict[str, Any]) -> bool:
    """A request the scripted server refuses (json_schema, like llama.cpp's server)."""
    return (request.get("response_format") or {}).get("type") == "json_schema"


def test_a_fake_models_calls_are_counted_once_under_the_global_cache(
    llm_cache: Any, daily_corpus: Path
) -> None:
    """The same with an in-process model (the skeptic only): its second run is not called."""
    answers = iter(['{"score": 6, "issues": [], "rationale": "fine"}'] * 20)

    class Counting(GenericFakeChatModel):
        def _generate(self, *args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            return super()._generate(*args, **kwargs)

    calls: list[int] = []
    model = Counting(messages=answers)
    context = Context(corpus=str(daily_corpus), role_llms={"skeptic": model})
    graph = build_graph()
    graph.invoke({"goal": GOAL}, context=context)
    first = len(calls)
    assert first > 0
    graph.invoke({"goal": GOAL}, context=context)
    assert len(calls) == first


# --- build_graph(cache=...) -------------------------------------------------------------------
CACHED = {"search", "extract", *reviewer_names()}


def test_a_node_cache_skips_every_cached_node_of_an_identical_rerun(daily_corpus: Path) -> None:
    graph = build_graph(cache=InMemoryCache())
    first, first_state = node_runs(graph, Context(corpus=str(daily_corpus)))
    assert set(first) >= CACHED  # every cacheable node ran once at least

    # an identical run, with a context built anew (the key is the knobs' values)
    second, second_state = node_runs(graph, Context(corpus=str(daily_corpus)))
    assert not CACHED & set(second), second  # none of them executed again
    assert {"plan", "index", "verify", "draft", "aggregate", "report"} <= set(second)
    assert outcome(second_state["report"]) == outcome(first_state["report"])
    assert second_state["run_id"] != first_state["run_id"]  # a new run, not a replay

    # another context: the cached nodes run again
    third, _ = node_runs(graph, Context(corpus=str(daily_corpus), papers_per_query=4))
    assert set(third) >= CACHED


def test_without_a_cache_every_node_runs_every_time(daily_corpus: Path) -> None:
    graph = build_graph()
    first, _ = node_runs(graph, Context(corpus=str(daily_corpus)))
    second, _ = node_runs(graph, Context(corpus=str(daily_corpus)))
    assert first == second


def test_model_objects_key_the_node_cache_by_identity(daily_corpus: Path) -> None:
    """Two different model objects of one class never share a cached review."""

    def skeptic() -> GenericFakeChatModel:
        return GenericFakeChatModel(
            messages=iter(['{"score": 6, "issues": [], "rationale": "fine"}'] * 20)
        )

    graph = build_graph(cache=InMemoryCache())
    node_runs(graph, Context(corpus=str(daily_corpus), role_llms={"skeptic": skeptic()}))
    again, _ = node_runs(graph, Context(corpus=str(daily_corpus), role_llms={"skeptic": skeptic()}))
    assert again["skeptic"] >= 1


# --- metadata and host callbacks --------------------------------------------------------------
class Recorder(BaseCallbackHandler):
    """What LangSmith would see of each chat-model call."""

    def __init__(self) -> None:
        self.starts: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        with self.lock:
            self.starts.append({"tags": list(tags or []), "metadata": dict(metadata or {})})


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
def test_every_model_call_carries_role_prompt_and_round_to_host_callbacks(
    fake_nim: Any, daily_corpus: Path, how: str
) -> None:
    """Under invoke and under ainvoke (where node code runs in worker threads and the
    judge's calls are awaited): the same labels, the judge's round included."""
    recorder = Recorder()
    context = Context(corpus=str(daily_corpus), llm="nvidia:fake", max_papers=4)
    config: Any = {"callbacks": [recorder], "tags": ["host-tag"], "metadata": {"host": "app"}}
    graph = build_graph()
    if how == "invoke":
        result = graph.invoke({"goal": GOAL}, context=context, config=config)
    else:
        result = asyncio.run(graph.ainvoke({"goal": GOAL}, context=context, config=config))
    # the handler given to graph.invoke saw every request the model server got
    assert len(recorder.starts) == len(fake_nim.chat_requests()) > 0
    roles = set()
    for start in recorder.starts:
        meta = start["metadata"]
        assert {"role", "prompt", "round"} <= set(meta), meta
        assert meta["prompt"].startswith(f"{meta['role']}@v")
        assert isinstance(meta["round"], int)
        assert meta["host"] == "app" and "langgraph_node" in meta  # the host's config kept
        assert {"sovereign", f"role:{meta['role']}", "host-tag"} <= set(start["tags"])
        roles.add(meta["role"])
    assert {"planner", "extractor", "writer", "judge", *reviewer_names()} <= roles
    rounds = {s["metadata"]["round"] for s in recorder.starts}
    assert rounds == set(range(result["report"]["tribunal"]["revision_round"] + 1))


# --- diagnostics through logging ----------------------------------------------------------------
def test_no_print_outside_the_cli_and_only_named_loggers() -> None:
    """``print`` only in cli/ and in the ``main`` of a ``python -m`` script; loggers are
    ``logging.getLogger(__name__)``; nothing logs on (or configures) the root logger."""
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        tree = ast.parse(path.read_text())
        mains = {
            id(n)
            for f in ast.walk(tree)
            if isinstance(f, ast.FunctionDef) and f.name == "main"
            for n in ast.walk(f)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            in_cli = rel.startswith("cli/") or id(node) in mains
            if isinstance(func, ast.Name) and func.id == "print" and not in_cli:
                problems.append(f"{rel}:{node.lineno} print")
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                if func.value.id != "logging":
                    continue
                if func.attr == "getLogger":
                    arg = node.args[0] if node.args else None
                    named = isinstance(arg, ast.Name) and arg.id == "__name__"
                    # the CLI (ours: the process is) may show the package's own logger (-v)
                    # and quiet the checkpoint database driver's teardown noise (one error line)
                    package = rel.startswith("cli/") and (
                        isinstance(arg, ast.Constant)
                        and arg.value in ("sovereign_agents", "psycopg")
                    )
                    if not (named or package):
                        problems.append(f"{rel}:{node.lineno} getLogger without __name__")
                elif func.attr in {
                    "basicConfig",
                    "debug",
                    "info",
                    "warning",
                    "error",
                    "exception",
                    "critical",
                    "log",
                }:
                    problems.append(f"{rel}:{node.lineno} logging.{func.attr} (root logger)")
    assert problems == []
