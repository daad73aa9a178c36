"""Run the graph into a run folder: checkpoints, trace.jsonl, report.md and report.json.

This is what the CLI does, as a function an application can call too. The run folder holds
everything needed to inspect or continue the run: ``checkpoints.sqlite`` (the LangGraph
checkpointer, thread id = run id), ``run.json`` (the context it ran with), ``trace.jsonl``
(one line per node execution, appended as the nodes finish, so a crash loses nothing).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command
from pydantic import BaseModel

from sovereign_agents import schemas
from sovereign_agents.context import Context
from sovereign_agents.errors import InputError
from sovereign_agents.graph import build_builder, build_graph
from sovereign_agents.redaction import redact
from sovereign_agents.state import ResearchState

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
    next: tuple[str, ...] = ()
    interrupts: list[Any] = field(default_factory=list)
    checkpoint_id: str | None = None

    @property
    def paused(self) -> bool:
        """The run stopped at an interrupt (static or ``interrupt()``) and can be resumed."""
        return bool(self.next)


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
    interrupt_before: Sequence[str] = (),
    interrupt_after: Sequence[str] = (),
) -> RunResult:
    """Run the graph into ``out_dir``: checkpoints, trace, and the report when it finishes.

    With ``interrupt_before`` / ``interrupt_after`` (node names) the run pauses there: the
    checkpoint is saved, no report is written, and ``resume_run`` continues it.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    check_nodes([*interrupt_before, *interrupt_after])
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
    config = thread_config(run_id)
    return _stream(inputs, config, context, out, on_event, interrupt_before, interrupt_after)


def resume_run(
    run_dir: str | Path,
    *,
    context: Context | None = None,
    state_update: dict[str, Any] | None = None,
    resume: Any = None,
    on_event: ProgressFn | None = None,
    interrupt_before: Sequence[str] = (),
    interrupt_after: Sequence[str] = (),
    checkpoint_id: str | None = None,
) -> RunResult:
    """Continue a paused or interrupted (even killed) run from its last checkpoint.

    ``state_update`` edits the state first (as if the node that ran last had written it);
    ``resume`` answers a pending ``interrupt()`` (``Command(resume=...)``). Completed nodes
    are not run again: LangGraph continues from the checkpoint, re-running only the tasks of
    the interrupted step that had not saved their writes.
    """
    out = Path(run_dir)
    run = read_run(out)
    context = context or context_from_run(run)
    check_nodes([*interrupt_before, *interrupt_after])
    config = thread_config(run["thread_id"], checkpoint_id)
    with sqlite_checkpointer(out / CHECKPOINTS) as saver:
        graph = build_graph(checkpointer=saver)
        snapshot = graph.get_state(config)
        if not snapshot.values:
            raise InputError(f"{out} has no checkpoint to resume from")
        if not snapshot.next and not state_update:
            raise InputError(f"the run in {out} has finished; nothing to resume")
        if state_update:
            config = graph.update_state(
                snapshot.config,
                check_state_update(state_update),
                as_node=last_node(graph, snapshot),
            )
        pending = pending_interrupts(snapshot)
        if pending and resume is None:
            raise InputError(
                "the run waits for an answer to an interrupt: "
                + json.dumps(pending, ensure_ascii=False, default=str)[:400]
            )
        check_answer(pending, resume)
    inputs: Any = Command(resume=resume) if pending else None
    return _stream(inputs, config, context, out, on_event, interrupt_before, interrupt_after)


def fork_run(
    run_dir: str | Path,
    checkpoint_id: str,
    out_dir: str | Path,
    *,
    context: Context | None = None,
    state_update: dict[str, Any] | None = None,
    on_event: ProgressFn | None = None,
    interrupt_before: Sequence[str] = (),
    interrupt_after: Sequence[str] = (),
) -> RunResult:
    """Time travel: a new run folder that continues from an earlier checkpoint of a run.

    The original folder is left as it was; the fork holds a copy of its checkpoints and
    trace (marked where the fork starts) and continues from ``checkpoint_id``.
    """
    src, out = Path(run_dir), Path(out_dir)
    if out.resolve() == src.resolve():
        raise InputError("a fork needs its own folder (--out)")
    run = read_run(src)
    checkpoint_id = find_checkpoint(src, run["thread_id"], checkpoint_id).config["configurable"][
        "checkpoint_id"
    ]
    out.mkdir(parents=True, exist_ok=True)
    with (
        sqlite3.connect(str(src / CHECKPOINTS)) as source,
        sqlite3.connect(str(out / CHECKPOINTS)) as target,
    ):
        source.backup(target)
    shutil.copyfile(src / "trace.jsonl", out / "trace.jsonl")
    with (out / "trace.jsonl").open("a") as trace:
        trace.write(json.dumps({"event": "fork", "from": str(src), "at": checkpoint_id}) + "\n")
    write_json(out / "run.json", {**run, "forked_from": {"run": str(src), "at": checkpoint_id}})
    for name in ("report.md", "report.json"):
        (out / name).unlink(missing_ok=True)
    return resume_run(
        out,
        context=context,
        state_update=state_update,
        on_event=on_event,
        interrupt_before=interrupt_before,
        interrupt_after=interrupt_after,
        checkpoint_id=checkpoint_id,
    )


def _stream(
    inputs: Any,
    config: RunnableConfig,
    context: Context,
    out: Path,
    on_event: ProgressFn | None,
    interrupt_before: Sequence[str],
    interrupt_after: Sequence[str],
) -> RunResult:
    trace_path = out / "trace.jsonl"
    thread_id = config["configurable"]["thread_id"]
    config = with_concurrency(config, context)
    with sqlite_checkpointer(out / CHECKPOINTS) as saver, trace_path.open("a") as trace:
        graph = build_graph(
            checkpointer=saver,
            interrupt_before=list(interrupt_before) or None,
            interrupt_after=list(interrupt_after) or None,
        )
        for chunk in graph.stream(inputs, config=config, context=context, stream_mode="custom"):
            if not isinstance(chunk, dict):
                continue
            if chunk.get("event") == "node":
                record = {"thread_id": thread_id, **chunk}
                trace.write(redact(json.dumps(record, ensure_ascii=False, default=str)) + "\n")
                trace.flush()
            if on_event is not None:
                on_event(chunk)
        snapshot = graph.get_state(thread_config(thread_id))
    result = _write_outputs(out, thread_id, snapshot.values, trace_path)
    result.next = tuple(snapshot.next)
    result.interrupts = pending_interrupts(snapshot)
    result.checkpoint_id = snapshot.config["configurable"].get("checkpoint_id")
    return result


def _write_outputs(out: Path, thread_id: str, values: dict[str, Any], trace: Path) -> RunResult:
    report = values.get("report")
    md_path = json_path = None
    if report is not None:
        report = {**report, "thread_id": thread_id}
        json_path = out / "report.json"
        write_json(json_path, json.loads(redact(json.dumps(report, ensure_ascii=False))))
        md_path = out / "report.md"
        tmp = md_path.with_suffix(".md.tmp")
        tmp.write_text(redact(values["report_markdown"]), encoding="utf-8")
        tmp.replace(md_path)  # atomic: a kill mid-write never leaves half a report
    return RunResult(
        out_dir=out,
        run_id=values.get("run_id") or thread_id,
        report_md=md_path,
        report_json=json_path,
        trace=trace,
        values=values,
    )


# --- run folders --------------------------------------------------------------------------


def thread_config(thread_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
    configurable: dict[str, Any] = {"thread_id": thread_id}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def read_run(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "run.json"
    if not path.is_file():
        raise InputError(f"{run_dir} is not a run folder (no run.json)")
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{path}: not JSON ({str(exc)[:100]})") from exc
    problem = _run_json_problem(data)
    if problem:
        raise InputError(f"{path} is not a run record ({problem})")
    if not (run_dir / CHECKPOINTS).is_file():
        raise InputError(f"{run_dir} has no {CHECKPOINTS}")
    return data


def _run_json_problem(data: Any) -> str | None:
    """What makes ``data`` unusable as a run.json, or None."""
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}, not an object"
    for key in ("run_id", "thread_id", "goal"):
        if not isinstance(data.get(key), str) or not data[key]:
            return f"no {key!r} string"
    if not isinstance(data.get("context", {}), dict):
        return "'context' is not an object"
    return None


def recorded_knobs(run: dict[str, Any]) -> dict[str, Any]:
    """The context knobs a run recorded in its run.json (unknown keys dropped)."""
    knobs = {f.name for f in fields(Context)}
    return {k: v for k, v in run.get("context", {}).items() if k in knobs}


def pending_interrupts(snapshot: Any) -> list[Any]:
    """The values of the ``interrupt()`` calls a checkpoint waits on."""
    return [i.value for task in snapshot.tasks for i in task.interrupts]


def context_from_run(run: dict[str, Any], **overrides: Any) -> Context:
    """The context a run was made with, from its run.json (model objects cannot be restored)."""
    values = recorded_knobs(run)
    if "approve_threshold" in overrides and "policy" not in overrides:
        recorded = dict(values.get("policy") or {})
        if recorded.get("approve_threshold") == values.get("approve_threshold"):
            recorded["approve_threshold"] = None  # it followed the tribunal's bar: keep following
        values["policy"] = recorded
    values.update(overrides)
    for name in ("llm", "embeddings", "search"):
        spec = values.get(name)
        if isinstance(spec, str) and spec and not _is_spec(name, spec):
            raise InputError(
                f"this run's {name} was a Python object ({spec}); continue it through the "
                "Python API with resume_run(..., context=Context(...))"
            )
    try:
        return Context(**values)
    except (TypeError, ValueError) as exc:
        raise InputError(f"cannot rebuild the run's context: {exc}") from exc


def _is_spec(name: str, spec: str) -> bool:
    if name == "search":
        return spec in {"auto", "local", "arxiv"}
    return spec in {"extractive", "lsa"} or spec.startswith("nvidia:")


def last_node(graph: Any, snapshot: Any) -> str | None:
    """The node whose step produced ``snapshot`` (when one node did), so an edit of the state
    is applied as that node's write and its outgoing edges (and Sends) are re-evaluated."""
    parent = snapshot.parent_config
    if parent is None:
        return None
    ran = set(graph.get_state(parent).next)
    return ran.pop() if len(ran) == 1 else None


def check_answer(pending: list[Any], answer: Any) -> None:
    """Refuse a wrong human-review answer before it reaches the checkpoint."""
    from sovereign_agents.nodes.human_review import check_verdicts

    asked = {c["id"] for p in pending if isinstance(p, dict) for c in p.get("claims", [])}
    if asked and isinstance(answer, dict):
        check_verdicts(asked, answer)


def check_nodes(names: Sequence[str]) -> None:
    known = set(build_builder().nodes)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError(f"no node named {', '.join(unknown)}; nodes: {', '.join(sorted(known))}")


def check_state_update(update: dict[str, Any]) -> dict[str, Any]:
    known = set(ResearchState.__annotations__)
    unknown = sorted(set(update) - known)
    if unknown:
        raise InputError(f"not state keys: {', '.join(unknown)}; keys: {', '.join(sorted(known))}")
    return update


def find_checkpoint(run_dir: Path, thread_id: str, checkpoint_id: str) -> Any:
    with sqlite_checkpointer(run_dir / CHECKPOINTS) as saver:
        graph = build_graph(checkpointer=saver)
        matches = [
            s
            for s in graph.get_state_history(thread_config(thread_id))
            if s.config["configurable"]["checkpoint_id"].startswith(checkpoint_id)
        ]
    if len(matches) != 1:
        what = "no" if not matches else "more than one"
        raise InputError(f"{what} checkpoint matches {checkpoint_id!r} (see `sovereign history`)")
    return matches[0]


@dataclass
class HistoryEntry:
    checkpoint_id: str
    step: int
    ran: tuple[str, ...]
    next: tuple[str, ...]
    created_at: str
    sizes: dict[str, int]
    interrupts: int


SIZED = ("queries", "hits", "papers", "claims", "reviews", "tribunal", "uncertainties")


def run_history(run_dir: str | Path) -> list[HistoryEntry]:
    """Every checkpoint of a run, oldest first: step, what ran, what runs next, state sizes."""
    out = Path(run_dir)
    run = read_run(out)
    with sqlite_checkpointer(out / CHECKPOINTS) as saver:
        graph = build_graph(checkpointer=saver)
        snapshots = list(graph.get_state_history(thread_config(run["thread_id"])))
    entries: list[HistoryEntry] = []
    previous_next: tuple[str, ...] = ()
    for snap in reversed(snapshots):
        values, meta = snap.values or {}, snap.metadata or {}
        source = meta.get("source") or ""
        entries.append(
            HistoryEntry(
                checkpoint_id=snap.config["configurable"]["checkpoint_id"],
                step=int(meta.get("step", -1)),
                # a loop step ran what the checkpoint before it had next; else input/update/fork
                ran=previous_next if source == "loop" else (source,),
                next=tuple(snap.next),
                created_at=snap.created_at or "",
                sizes={k: len(values[k]) for k in SIZED if isinstance(values.get(k), list)},
                interrupts=len(pending_interrupts(snap)),
            )
        )
        previous_next = tuple(snap.next)
    return entries
