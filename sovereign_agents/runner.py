"""Run the graph into a run folder: checkpoints, trace.jsonl, report.md and report.json.

This is what the CLI does, as a function an application can call too. The run folder holds
everything needed to inspect or continue the run: ``checkpoints.sqlite`` (the LangGraph
checkpointer, thread id = run id), ``run.json`` (the context it ran with), ``trace.jsonl``
(one line per node execution, appended as the nodes finish, so a crash loses nothing).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from pydantic import BaseModel

from sovereign_agents import schemas
from sovereign_agents.context import Context
from sovereign_agents.graph import build_graph
from sovereign_agents.tracing import redact

CHECKPOINTS = "checkpoints.sqlite"
ProgressFn = Callable[[dict[str, Any]], None]


def serde_allowlist() -> list[tuple[str, str]]:
    """The project's types a checkpoint may hold (for LangGraph's strict msgpack mode)."""
    classes = [getattr(schemas, n) for n in dir(schemas)]
    return [
        (schemas.__name__, c.__name__)
        for c in classes
        if isinstance(c, type)
        and c.__module__ == schemas.__name__
        and issubclass(c, BaseModel | Enum)
    ]


def serializer() -> JsonPlusSerializer:
    return JsonPlusSerializer(allowed_msgpack_modules=serde_allowlist())


@contextmanager
def sqlite_checkpointer(path: Path) -> Iterator[SqliteSaver]:
    conn = sqlite3.connect(str(path), check_same_thread=False)
    try:
        yield SqliteSaver(conn, serde=serializer())
    finally:
        conn.close()


@dataclass
class RunResult:
    out_dir: Path
    run_id: str
    report_md: Path | None
    report_json: Path | None
    trace: Path
    values: dict[str, Any]


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def with_concurrency(config: RunnableConfig, context: Context) -> RunnableConfig:
    """``config`` with the context's ``max_concurrency``: model calls wait on the network, so
    parallel branches get one thread each rather than LangGraph's CPU-sized default."""
    if context.max_concurrency is None:
        return config
    return {**config, "max_concurrency": context.max_concurrency}


def run_research(
    goal: str,
    context: Context,
    out_dir: str | Path,
    *,
    paper: str | None = None,
    run_id: str | None = None,
    on_event: ProgressFn | None = None,
) -> RunResult:
    """Run the graph end to end into ``out_dir`` and write the report files."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run_id = run_id or uuid.uuid4().hex[:12]
    write_json(
        out / "run.json",
        {
            "run_id": run_id,
            "thread_id": run_id,
            "goal": goal,
            "paper": paper,
            "context": context.describe(),
        },
    )
    inputs: dict[str, Any] = {"goal": goal, "paper": paper, "run_id": run_id}
    return _stream(inputs, context, out, run_id, on_event)


def _stream(
    inputs: Any, context: Context, out: Path, thread_id: str, on_event: ProgressFn | None
) -> RunResult:
    trace_path = out / "trace.jsonl"
    config = with_concurrency({"configurable": {"thread_id": thread_id}}, context)
    with sqlite_checkpointer(out / CHECKPOINTS) as saver, trace_path.open("a") as trace:
        graph = build_graph(checkpointer=saver)
        for chunk in graph.stream(inputs, config=config, context=context, stream_mode="custom"):
            if not isinstance(chunk, dict):
                continue
            if chunk.get("event") == "node":
                record = {"thread_id": thread_id, **chunk}
                trace.write(redact(json.dumps(record, ensure_ascii=False, default=str)) + "\n")
                trace.flush()
            if on_event is not None:
                on_event(chunk)
        values = graph.get_state(config).values
    return _write_outputs(out, thread_id, values, trace_path)


def _write_outputs(out: Path, thread_id: str, values: dict[str, Any], trace: Path) -> RunResult:
    report = values.get("report")
    md_path = json_path = None
    if report is not None:
        report = {**report, "thread_id": thread_id}
        json_path = out / "report.json"
        write_json(json_path, report)
        md_path = out / "report.md"
        md_path.write_text(values["report_markdown"], encoding="utf-8")
    return RunResult(
        out_dir=out,
        run_id=values.get("run_id") or thread_id,
        report_md=md_path,
        report_json=json_path,
        trace=trace,
        values=values,
    )
