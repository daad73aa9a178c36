"""Run the graph into a run folder: checkpoints, trace.jsonl, report.md, report.json and
report.html.

This is what the CLI does, as a function an application can call too. The run folder holds
everything needed to inspect or continue the run: ``checkpoints.sqlite`` (the LangGraph
checkpointer, thread id = run id), ``run.json`` (the context it ran with, the thread id and
where the checkpoints are), ``trace.jsonl`` (one line per node execution, appended as the
nodes finish, so a crash loses nothing). With ``checkpointer="postgresql://..."`` the
checkpoints go to PostgreSQL instead (``checkpointers``) and the folder keeps the rest;
``resume_thread`` continues such a run from its thread id in any folder.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.errors import InvalidUpdateError
from langgraph.types import Command

from sovereign_agents import presets
from sovereign_agents.checkpointers import (
    SQLITE,
    SQLITE_FILE,
    copy_thread,
    describe,
    has_thread,
    load_run_record,
    open_checkpointer,
    parse_spec,
    public_url,
    save_run_record,
    serde_allowlist,
    serializer,
    spec_for_run,
    sqlite_checkpointer,
    thread_writer,
)
from sovereign_agents.context import (
    FLAT,
    Context,
    layered,
    nested,
)
from sovereign_agents.errors import InputError
from sovereign_agents.graph import build_builder, build_graph
from sovereign_agents.model_spec import is_spec_string
from sovereign_agents.redaction import redact, redact_data
from sovereign_agents.report_html import render_html
from sovereign_agents.run_folder import (
    clear_report,
    is_finished,
    repair_trace,
    start_fresh,
    writer_lock,
)
from sovereign_agents.state import ResearchState
from sovereign_agents.verification import VERIFIERS

CHECKPOINTS = SQLITE_FILE
ProgressFn = Callable[[dict[str, Any]], None]
__all__ = ["CHECKPOINTS", "serde_allowlist", "serializer", "sqlite_checkpointer"]


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
    report_html: Path | None = None
    thread_id: str = ""
    checkpointer: dict[str, str] = field(default_factory=dict)  # run.json's (no password)

    @property
    def paused(self) -> bool:
        """The run stopped at an interrupt (static or ``interrupt()``) and can be resumed."""
        return bool(self.next)


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON atomically, redacted (run.json, report.json)."""
    write_text(path, json.dumps(redact_data(data), indent=2, ensure_ascii=False) + "\n")


def write_text(path: Path, text: str) -> None:
    """Write atomically: a kill or a full disk mid-write leaves the old file or none, and no
    half-written temporary file behind."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def with_concurrency(config: RunnableConfig, context: Context) -> RunnableConfig:
    """``config`` with the context's ``max_concurrency``: model calls wait on the network, so
    parallel branches get one thread each rather than LangGraph's CPU-sized default.

    LangGraph's pool gets one thread more than the branches: while the graph streams, one of
    its workers stays busy relaying the stream (its ``SyncQueue``), so a pool of exactly
    ``max_concurrency=1`` left no thread for any node and the run hung before ``plan``."""
    if context.max_concurrency is None:
        return config
    return {**config, "max_concurrency": context.max_concurrency + 1}


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
    force: bool = False,
    checkpointer: str | None = None,
    thread_id: str | None = None,
) -> RunResult:
    """Run the graph into ``out_dir``: checkpoints, trace, and the report when it finishes.

    With ``interrupt_before`` / ``interrupt_after`` (node names) the run pauses there: the
    checkpoint is saved, no report is written, and ``resume_run`` continues it.

    ``out_dir`` is held by this run alone (a second writer fails at once). A finished run
    already there is replaced (its files, not the folder's other files); an unfinished one is
    kept for ``resume_run`` unless ``force``.

    ``checkpointer``: None for the folder's SQLite file, or a ``postgresql://`` URL
    (``checkpointers.open_checkpointer``). The thread id is the run id unless given; in a
    shared database it must be one no run has used.
    """
    out = Path(out_dir)
    spec = parse_spec(checkpointer)
    check_nodes([*interrupt_before, *interrupt_after])
    with writer_lock(out):
        start_fresh(out, force=force)
        run_id = run_id or uuid.uuid4().hex[:12]
        thread_id = thread_id or run_id
        record = run_record(run_id, goal, paper, context, spec, thread_id)
        with open_checkpointer(spec, out) as saver:  # the SQLite file exists before run.json
            if spec is not None and has_thread(saver, thread_id):
                raise InputError(
                    f"thread {thread_id} already has checkpoints in {public_url(spec)}; "
                    f"continue it with `sovereign resume --thread {thread_id} --out DIR`"
                )
            save_run_record(saver, thread_id, record)
        write_json(out / "run.json", record)
        return _stream(
            run_inputs(run_id, goal, paper),
            thread_config(thread_id),
            context,
            out,
            on_event,
            interrupt_before,
            interrupt_after,
            spec,
        )


def run_record(
    run_id: str,
    goal: str,
    paper: str | None,
    context: Context,
    checkpointer: str | None = None,
    thread_id: str | None = None,
) -> dict[str, Any]:
    """What ``run.json`` holds: enough to restart the run from its input, and where its
    checkpoints are (a database URL without its password)."""
    return {
        "run_id": run_id,
        "thread_id": thread_id or run_id,
        "goal": goal,
        "paper": paper,
        "context": context.describe(),
        "checkpointer": describe(checkpointer),
    }


def run_inputs(run_id: str, goal: str, paper: str | None) -> dict[str, Any]:
    return {"goal": goal, "paper": paper, "run_id": run_id}


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
    checkpointer: str | None = None,
) -> RunResult:
    """Continue a paused or interrupted (even killed) run from its last checkpoint.

    A run is finished exactly when its report exists; anything else continues: LangGraph
    applies the saved writes of the interrupted step, re-runs only its tasks that had not
    saved theirs, and the report is written at the end (also when the kill came after the
    last checkpoint). A run killed before its first checkpoint starts again from its input.

    ``state_update`` edits the state first (as if the node that ran last had written it);
    ``resume`` answers a pending ``interrupt()`` (``Command(resume=...)``).

    A run kept in PostgreSQL is opened with ``checkpointer`` (its URL with the password) or
    else the URL its run.json records (``checkpointers.spec_for_run``).
    """
    out = Path(run_dir)
    check_nodes([*interrupt_before, *interrupt_after])
    with writer_lock(out):
        return _resume(
            out,
            context,
            state_update,
            resume,
            on_event,
            interrupt_before,
            interrupt_after,
            checkpoint_id,
            checkpointer,
        )


def thread_record(checkpointer: str, thread_id: str) -> dict[str, Any]:
    """The run record PostgreSQL keeps for ``thread_id`` (what its run.json held)."""
    spec = parse_spec(checkpointer)
    if spec is None:
        raise InputError(
            "--thread needs a postgresql:// checkpointer (--checkpointer or "
            "SOVEREIGN_CHECKPOINTER); a run kept in SQLite is resumed from its folder"
        )
    with open_checkpointer(spec, Path(".")) as saver:
        record = load_run_record(saver, thread_id)
    if record is None:
        raise InputError(f"no run has thread {thread_id!r} in {public_url(spec)}")
    return record


def resume_thread(
    thread_id: str,
    out_dir: str | Path,
    checkpointer: str,
    *,
    context: Context | None = None,
    state_update: dict[str, Any] | None = None,
    resume: Any = None,
    on_event: ProgressFn | None = None,
    interrupt_before: Sequence[str] = (),
    interrupt_after: Sequence[str] = (),
) -> RunResult:
    """Continue a run kept in PostgreSQL from its thread id alone, into ``out_dir`` (another
    folder, process or machine than the one it started in).

    The folder gets run.json from the record the database keeps, then the run continues as
    ``resume_run`` would: trace lines from here on, and the report when it finishes (a
    finished thread just has its report written). A folder holding another run's unfinished
    run is refused, a finished one replaced; the same thread's folder is simply resumed."""
    out = Path(out_dir)
    check_nodes([*interrupt_before, *interrupt_after])
    record = thread_record(checkpointer, thread_id)
    with writer_lock(out):
        here = out / "run.json"
        if not (here.is_file() and _thread_of(here) == thread_id):
            start_fresh(out)
            write_json(here, {**record, "checkpointer": describe(checkpointer)})
        return _resume(
            out,
            context,
            state_update,
            resume,
            on_event,
            interrupt_before,
            interrupt_after,
            None,
            checkpointer,
        )


def _thread_of(run_json: Path) -> str | None:
    try:
        data = json.loads(run_json.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError, RecursionError):
        return None
    return data.get("thread_id") if isinstance(data, dict) else None


def _resume(
    out: Path,
    context: Context | None,
    state_update: dict[str, Any] | None,
    resume: Any,
    on_event: ProgressFn | None,
    interrupt_before: Sequence[str],
    interrupt_after: Sequence[str],
    checkpoint_id: str | None,
    checkpointer: str | None = None,
) -> RunResult:
    """``resume_run`` once the folder's writer lock is held."""
    run = read_run(out)
    spec = spec_for_run(run, checkpointer)
    context = context or context_from_run(run)
    config = thread_config(run["thread_id"], checkpoint_id)
    if is_finished(out) and not state_update and checkpoint_id is None:
        raise InputError(f"the run in {out} has finished; nothing to resume")
    inputs: Any = None
    with open_checkpointer(spec, out) as saver, thread_writer(saver, run["thread_id"]):
        graph = build_graph(checkpointer=saver)
        snapshot = graph.get_state(config)
        if not snapshot.values:
            if state_update or checkpoint_id or resume is not None or not run.get("goal"):
                raise InputError(f"{out} has no checkpoint to resume from")
            inputs = run_inputs(run["thread_id"], run["goal"], run.get("paper"))
        if state_update:
            config = edit_state(graph, snapshot, check_state_update(state_update))
        pending = pending_interrupts(snapshot) if snapshot.values else []
        if pending and resume is None:
            raise InputError(
                "the run waits for an answer to an interrupt: "
                + json.dumps(pending, ensure_ascii=False, default=str)[:400]
            )
        check_answer(pending, resume)
    if pending:
        inputs = Command(resume=resume)
    clear_report(out)
    return _stream(inputs, config, context, out, on_event, interrupt_before, interrupt_after, spec)


def edit_state(graph: Any, snapshot: Any, update: dict[str, Any]) -> RunnableConfig:
    try:
        config: RunnableConfig = graph.update_state(
            snapshot.config, update, as_node=last_node(graph, snapshot)
        )
    except InvalidUpdateError as exc:
        raise InputError(f"cannot edit the state at this checkpoint: {exc}") from exc
    return config


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
    force: bool = False,
    checkpointer: str | None = None,
) -> RunResult:
    """Time travel: a new run folder that continues from an earlier checkpoint of a run.

    The original folder is left as it was; the fork holds a copy of its checkpoints and
    trace (marked where the fork starts) and continues from ``checkpoint_id``. The fork's
    folder follows ``run_research``'s rules (one writer; an unfinished run there is kept).
    A run kept in PostgreSQL forks into a new thread of the same database (a copy of the
    original thread, which is left as it was).
    """
    src, out = Path(run_dir), Path(out_dir)
    check_nodes([*interrupt_before, *interrupt_after])
    if out.resolve() == src.resolve():
        raise InputError("a fork needs its own folder (--out)")
    run = read_run(src)
    spec = spec_for_run(run, checkpointer)
    checkpoint_id = find_checkpoint(src, run["thread_id"], checkpoint_id, spec).config[
        "configurable"
    ]["checkpoint_id"]
    forked = {**run, "forked_from": {"run": str(src), "at": checkpoint_id}}
    with writer_lock(out):
        start_fresh(out, force=force)
        if spec is None:
            with (
                sqlite3.connect(str(src / CHECKPOINTS)) as source,
                sqlite3.connect(str(out / CHECKPOINTS)) as target,
            ):
                source.backup(target)
        else:
            thread = f"{run['run_id']}-fork-{uuid.uuid4().hex[:8]}"
            forked["forked_from"]["thread"] = run["thread_id"]
            forked.update(thread_id=thread, checkpointer=describe(spec))
            with open_checkpointer(spec, out) as saver:
                copy_thread(saver, run["thread_id"], thread)
                save_run_record(saver, thread, forked)
        shutil.copyfile(src / "trace.jsonl", out / "trace.jsonl")
        repair_trace(out / "trace.jsonl")
        with (out / "trace.jsonl").open("a") as trace:
            fork = {"event": "fork", "from": str(src), "at": checkpoint_id}
            trace.write(json.dumps(fork) + "\n")
        write_json(out / "run.json", forked)
        return _resume(
            out,
            context,
            state_update,
            None,
            on_event,
            interrupt_before,
            interrupt_after,
            checkpoint_id,
            spec,
        )


def _stream(
    inputs: Any,
    config: RunnableConfig,
    context: Context,
    out: Path,
    on_event: ProgressFn | None,
    interrupt_before: Sequence[str],
    interrupt_after: Sequence[str],
    spec: str | None = None,
) -> RunResult:
    trace_path = out / "trace.jsonl"
    thread_id = config["configurable"]["thread_id"]
    config = with_concurrency(config, context)
    repair_trace(trace_path)
    # line-buffered: every record reaches the file whole, whenever the process is stopped
    with (
        open_checkpointer(spec, out) as saver,
        thread_writer(saver, thread_id),
        trace_path.open("a", buffering=1, encoding="utf-8") as trace,
    ):
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
            if on_event is not None:
                on_event(chunk)
        snapshot = graph.get_state(thread_config(thread_id))
    result = _write_outputs(out, thread_id, snapshot.values, trace_path)
    result.next = tuple(snapshot.next)
    result.interrupts = pending_interrupts(snapshot)
    result.checkpoint_id = snapshot.config["configurable"].get("checkpoint_id")
    result.thread_id = thread_id
    result.checkpointer = describe(spec)
    return result


def _write_outputs(out: Path, thread_id: str, values: dict[str, Any], trace: Path) -> RunResult:
    report = values.get("report")
    md_path = json_path = html_path = None
    if report is not None:
        report = {**report, "thread_id": thread_id}
        json_path = out / "report.json"
        write_json(json_path, json.loads(redact(json.dumps(report, ensure_ascii=False))))
        md_path = out / "report.md"
        html_path = out / "report.html"
        write_text(html_path, redact(render_html(report, paper_abstracts(values))))
        write_text(md_path, redact(values["report_markdown"]))  # written last: the run is done
    return RunResult(
        out_dir=out,
        run_id=values.get("run_id") or thread_id,
        report_md=md_path,
        report_json=json_path,
        trace=trace,
        values=values,
        report_html=html_path,
    )


def write_report_html(run_dir: Path, checkpointer: str | None = None) -> Path:
    """report.html of a finished run, from its report.json and the papers in its last
    checkpoint (for runs made before every run wrote one)."""
    run = read_run(run_dir)
    source = run_dir / "report.json"
    if not source.is_file():
        raise InputError(f"{run_dir} has no report.json: the run has not finished")
    try:
        report = json.loads(source.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"{source}: not JSON ({exc})") from exc
    with open_checkpointer(spec_for_run(run, checkpointer), run_dir) as saver:
        values = build_graph(checkpointer=saver).get_state(thread_config(run["thread_id"])).values
    path = run_dir / "report.html"
    write_text(path, redact(render_html(report, paper_abstracts(values))))
    return path


def paper_abstracts(values: dict[str, Any]) -> dict[str, str]:
    """Paper id -> abstract, for the papers of a run's state (claims' evidence offsets point
    into these)."""
    return {p.paper.id: p.paper.abstract for p in values.get("papers", [])}


# --- run folders --------------------------------------------------------------------------


def thread_config(thread_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
    configurable: dict[str, Any] = {"thread_id": thread_id}
    if checkpoint_id:
        # with the namespace: a state edit at this checkpoint saves under the config it read
        configurable.update(checkpoint_id=checkpoint_id, checkpoint_ns="")
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
    if checkpoint_kind(data) == SQLITE and not (run_dir / CHECKPOINTS).is_file():
        raise InputError(f"{run_dir} has no {CHECKPOINTS}")
    return data


def checkpoint_kind(run: dict[str, Any]) -> str:
    """Where a run's checkpoints are, from its run.json: 'sqlite' (its folder) or 'postgres'."""
    recorded = run.get("checkpointer")
    return str(recorded.get("kind", SQLITE)) if isinstance(recorded, dict) else SQLITE


def _run_json_problem(data: Any) -> str | None:
    """What makes ``data`` unusable as a run.json, or None."""
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}, not an object"
    for key in ("run_id", "thread_id", "goal"):
        if not isinstance(data.get(key), str) or not data[key]:
            return f"no {key!r} string"
    if not isinstance(data.get("context", {}), dict):
        return "'context' is not an object"
    if checkpoint_kind(data) not in ("sqlite", "postgres"):
        return "'checkpointer.kind' is neither 'sqlite' nor 'postgres'"
    return None


def recorded_knobs(run: dict[str, Any]) -> dict[str, Any]:
    """The context knobs a run recorded in its run.json (unknown keys dropped)."""
    knobs = set(Context.known_keys())
    return {k: v for k, v in run.get("context", {}).items() if k in knobs}


def pending_interrupts(snapshot: Any) -> list[Any]:
    """The values of the ``interrupt()`` calls a checkpoint waits on."""
    return [i.value for task in snapshot.tasks for i in task.interrupts]


def context_from_run(run: dict[str, Any], preset: str | None = None, **overrides: Any) -> Context:
    """The context a run was made with, from its run.json (model objects cannot be restored),
    with a named preset's knobs and then ``overrides`` (flat, dotted or grouped keys) over it."""
    recorded = nested(recorded_knobs(run))
    chosen = presets.preset(preset) if preset else None
    over = [chosen.values() if chosen else {}, overrides]
    values = layered(recorded, *over)
    bar = recorded.get("tribunal", {}).get("approve_threshold")
    if recorded.get("policy", {}).get("approve_threshold") == bar and not any(
        "approve_threshold" in (nested(layer).get("policy") or {}) for layer in over
    ):
        values["policy"] = {**values.get("policy", {}), "approve_threshold": None}  # it follows
    for name in ("llm", "embeddings", "search", "verifier"):
        group, knob = FLAT[name].split(".")
        spec = values.get(group, {}).get(knob)
        if isinstance(spec, str) and spec and not _is_spec(name, spec):
            raise InputError(
                f"this run's {name} was a Python object ({spec}); continue it through the "
                "Python API with resume_run(..., context=Context(...))"
            )
    context = Context(**values)
    if chosen:
        chosen.check(context)
    return context


def _is_spec(name: str, spec: str) -> bool:
    if name == "search":
        from sovereign_agents.search.registry import AUTO, source_names

        return spec in (AUTO, *source_names())
    if name == "verifier":
        return spec in VERIFIERS
    return is_spec_string(spec, "embeddings" if name == "embeddings" else "llm")


def last_node(graph: Any, snapshot: Any) -> str | None:
    """The node whose step produced ``snapshot``, so an edit of the state is applied as that
    node's write and its outgoing edges (and Sends) are re-evaluated."""
    parent = snapshot.parent_config
    if parent is None:
        return None
    ran = sorted(set(graph.get_state(parent).next))
    # parallel nodes of one step (the three reviewers) share their outgoing edges: any one
    # of them re-evaluates those edges the same way
    return ran[0] if ran else None


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


def find_checkpoint(
    run_dir: Path, thread_id: str, checkpoint_id: str, checkpointer: str | None = None
) -> Any:
    spec = spec_for_run(read_run(run_dir), checkpointer)
    with open_checkpointer(spec, run_dir) as saver:
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


def run_history(run_dir: str | Path, checkpointer: str | None = None) -> list[HistoryEntry]:
    """Every checkpoint of a run, oldest first: step, what ran, what runs next, state sizes."""
    out = Path(run_dir)
    run = read_run(out)
    with open_checkpointer(spec_for_run(run, checkpointer), out) as saver:
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
