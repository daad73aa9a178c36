"""Stepping through runs: ``resume``, ``history``, ``fork``, ``replay`` and ``trace show``."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from sovereign_agents.cli.common import (
    CheckpointerOption,
    PresetName,
    checkpointer_spec,
    fail,
    guarded,
    json_value,
    out,
    parse_knobs,
    print_result,
    progress_printer,
    reported,
)
from sovereign_agents.errors import InputError
from sovereign_agents.escaping import one_line, rich_safe
from sovereign_agents.wording import count

RunDir = Annotated[Path, typer.Argument(help="a run folder (made by `sovereign run`)")]
StateSet = Annotated[
    list[str] | None,
    typer.Option("--set", help="KEY=JSON: edit a state key before continuing (repeatable)"),
]
ContextSet = Annotated[
    list[str] | None,
    typer.Option("--context", help="KEY=JSON: change a context knob (repeatable)"),
]
Before = Annotated[list[str] | None, typer.Option(help="pause before this node (repeatable)")]
After = Annotated[list[str] | None, typer.Option(help="pause after this node (repeatable)")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="no progress lines")]

trace_app = typer.Typer(help="Read a run's trace.", no_args_is_help=True)


def parse_state(values: list[str]) -> dict[str, Any]:
    update: dict[str, Any] = {}
    for value in values:
        key, sep, raw = value.partition("=")
        if not sep or not key:
            raise InputError(f"--set takes KEY=JSON, not {value!r}")
        update[key] = json_value(raw)
    return update


def parse_verdicts(values: list[str]) -> dict[str, str] | None:
    from sovereign_agents.nodes.human_review import VERDICTS

    if not values:
        return None
    verdicts: dict[str, str] = {}
    for value in values:
        claim, sep, verdict = value.partition("=")
        if not sep or verdict not in VERDICTS:
            raise InputError(f"--verdict takes CLAIM_ID=supported|rejected, not {value!r}")
        verdicts[claim] = verdict
    return verdicts


def resume(
    run_dir: Annotated[
        Path | None,
        typer.Argument(help="a run folder (or give --thread and --out for a run in PostgreSQL)"),
    ] = None,
    state: StateSet = None,
    verdict: Annotated[
        list[str] | None,
        typer.Option(help="CLAIM_ID=supported|rejected for a disputed claim (repeatable)"),
    ] = None,
    knob: ContextSet = None,
    preset: PresetName = None,
    interrupt_before: Before = None,
    interrupt_after: After = None,
    quiet: Quiet = False,
    checkpointer: CheckpointerOption = None,
    thread: Annotated[
        str | None,
        typer.Option(
            help="the thread id of a run kept in PostgreSQL: continue it into --out, from any "
            "folder or machine"
        ),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="with --thread: the run folder to continue in")
    ] = None,
) -> None:
    """Continue a paused, failed or killed run from its last checkpoint."""
    from sovereign_agents.runner import (
        context_from_run,
        read_run,
        resume_run,
        resume_thread,
        thread_record,
    )

    with reported():
        spec = checkpointer_spec(checkpointer)
        if thread is not None:
            if run_dir is not None or out_dir is None:
                raise InputError("--thread takes --out DIR (the folder to continue in), no RUN_DIR")
            if spec is None:
                raise InputError(
                    "--thread needs a postgresql:// checkpointer (--checkpointer URL or "
                    "SOVEREIGN_CHECKPOINTER)"
                )
            run = thread_record(spec, thread)
            folder = out_dir
        elif run_dir is None:
            raise InputError("give a run folder, or --thread ID --out DIR for a run in PostgreSQL")
        elif out_dir is not None:
            raise InputError("--out goes with --thread; a run folder is resumed in place")
        else:
            run, folder = read_run(run_dir), run_dir
        context = context_from_run(run, preset, **parse_knobs(knob or []))
        verdicts = parse_verdicts(verdict or [])
        options: dict[str, Any] = {
            "context": context,
            "state_update": parse_state(state or []),
            "resume": verdicts,
            "on_event": progress_printer(quiet),
            "interrupt_before": interrupt_before or (),
            "interrupt_after": interrupt_after or (),
        }
        with guarded(folder):
            if thread is not None:
                assert spec is not None
                result = resume_thread(thread, folder, spec, **options)
            else:
                result = resume_run(folder, checkpointer=spec, **options)
    print_result(result)


def history(
    run_dir: RunDir,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
    checkpointer: CheckpointerOption = None,
) -> None:
    """List a run's checkpoints: step, the node(s) that ran, what runs next, state sizes."""
    from sovereign_agents.runner import run_history

    with reported():
        entries = run_history(run_dir, checkpointer_spec(checkpointer))
    if as_json:
        out.print_json(data=[e.__dict__ for e in entries])
        return
    out.print(
        f"{'step':>4}  {'checkpoint':<36}  {'time':<12}  {'ran':<22}  {'next':<28}  state",
        soft_wrap=True,
        markup=False,
    )
    for e in entries:
        sizes = " ".join(f"{k}={v}" for k, v in e.sizes.items() if v)
        upcoming = ", ".join(sorted(set(e.next))) + (" (interrupt)" if e.interrupts else "")
        out.print(
            f"{e.step:>4}  {e.checkpoint_id:<36}  {e.created_at[11:23]:<12}  "
            f"{', '.join(sorted(set(e.ran))):<22}  {upcoming or '(end)':<28}  {sizes}",
            soft_wrap=True,
            markup=False,
        )


def fork(
    run_dir: RunDir,
    at: Annotated[str, typer.Option(help="checkpoint id (a unique prefix will do)")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="the fork's run folder")] = None,
    state: StateSet = None,
    knob: ContextSet = None,
    preset: PresetName = None,
    interrupt_before: Before = None,
    interrupt_after: After = None,
    quiet: Quiet = False,
    force: Annotated[
        bool, typer.Option("--force", help="replace an unfinished run in the fork's folder")
    ] = False,
    checkpointer: CheckpointerOption = None,
) -> None:
    """Start a new branch of a run from one of its earlier checkpoints (time travel)."""
    from sovereign_agents.runner import context_from_run, find_checkpoint, fork_run, read_run

    with reported():
        spec = checkpointer_spec(checkpointer)
        run = read_run(run_dir)
        snapshot = find_checkpoint(run_dir, run["thread_id"], at, spec)
        checkpoint = snapshot.config["configurable"]["checkpoint_id"]
        target = out_dir or run_dir.with_name(f"{run_dir.name}-fork-{checkpoint[-8:]}")
        context = context_from_run(run, preset, **parse_knobs(knob or []))
        with guarded(target):
            result = fork_run(
                run_dir,
                checkpoint,
                target,
                context=context,
                state_update=parse_state(state or []),
                on_event=progress_printer(quiet),
                interrupt_before=interrupt_before or (),
                interrupt_after=interrupt_after or (),
                force=force,
                checkpointer=spec,
            )
    out.print(f"forked {run_dir} at {checkpoint} into {target}", markup=False)
    print_result(result)


def replay(
    run_dir: RunDir,
    out_dir: Annotated[Path | None, typer.Option("--out", help="the replay's run folder")] = None,
    quiet: Quiet = False,
    checkpointer: CheckpointerOption = None,
) -> None:
    """Re-execute a recorded run offline from its trace, and check it reaches the same result.

    The replay keeps its checkpoints where the recorded run kept them (in PostgreSQL, a new
    thread of the same database)."""
    from sovereign_agents.checkpointers import spec_for_run
    from sovereign_agents.replay import differences, replay_context, summarize_outcome
    from sovereign_agents.runner import read_run, run_research

    target = out_dir or run_dir.with_name(f"{run_dir.name}-replay")
    with reported():
        if target.resolve() == run_dir.resolve():
            raise InputError("the replay needs its own folder (--out)")
        run = read_run(run_dir)
        original_path = run_dir / "report.json"
        if not original_path.is_file():
            raise InputError(f"{run_dir} has no report.json: replay a finished run")
        context = replay_context(run_dir)
        spec = spec_for_run(run, checkpointer_spec(checkpointer))
        with guarded(target):
            result = run_research(
                run["goal"],
                context,
                target,
                paper=run.get("paper"),
                run_id=run["run_id"],
                on_event=progress_printer(quiet),
                checkpointer=spec,
                thread_id=f"{run['run_id']}-replay-{uuid.uuid4().hex[:8]}" if spec else None,
            )
    if result.report_json is None:
        fail("the replay did not finish", 1)
        return
    original = json.loads(original_path.read_text(encoding="utf-8"))
    replayed = json.loads(result.report_json.read_text(encoding="utf-8"))
    diff = list(differences(original, replayed))
    out.print(f"recorded: {summarize_outcome(original)}", soft_wrap=True, markup=False)
    out.print(f"replayed: {summarize_outcome(replayed)}", soft_wrap=True, markup=False)
    if diff:
        fail(f"the replay diverged in: {', '.join(diff)} (see {result.trace})", 1)
    out.print(
        f"replay matches: same claims, confidences, scores and verdict -> {target}", markup=False
    )


@trace_app.command("show")
def trace_show(
    run_dir: RunDir,
    messages: Annotated[
        bool, typer.Option("--messages", help="also print each model call's messages")
    ] = False,
) -> None:
    """Render a run's trace as a tree: node executions and the calls inside them."""
    from rich.tree import Tree

    from sovereign_agents.replay import read_trace

    with reported():
        records = read_trace(run_dir / "trace.jsonl")
    root = Tree(f"[bold]{rich_safe(run_dir)}[/]")
    for record in records:
        if record.get("event") == "fork":
            root.add(
                f"[magenta]fork[/] from {safe(record.get('from'))} at {safe(record.get('at'))}"
            )
            continue
        if record.get("event") == "resume":  # `sovereign batch` continued a died run here
            root.add(
                f"[magenta]resume[/] by {safe(record.get('by'))} at step "
                f"{safe(record.get('step'))} (checkpoint {safe(record.get('at'))}, pid "
                f"{safe(record.get('pid'))})"
            )
            continue
        status = f"[red]{safe(record['error'])}[/]" if record.get("error") else ""
        node = root.add(
            f"[bold cyan]{safe(record.get('node'))}[/]{safe(task_of(record))} "
            f"{number(record.get('seconds')):.3f}s {safe(str(record.get('start', ''))[11:23])} "
            f"{status}"
        )
        for call in record.get("calls") or []:
            if not isinstance(call, dict):
                continue
            branch = node.add(describe_call(call))
            if messages and call.get("kind") == "chat":
                for message in call.get("messages", []):
                    if not isinstance(message, dict):
                        continue
                    data = message.get("data")
                    text = str(data.get("content", "") if isinstance(data, dict) else "")
                    branch.add(f"[dim]{safe(message.get('type'))}: {safe(text[:300])}[/]")
    out.print(root)


def safe(value: Any) -> str:
    """A value from a trace file for rich markup: one line, no control characters, escaped."""
    return rich_safe(one_line("" if value is None else value))


def number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else float("nan")


def task_of(record: dict[str, Any]) -> str:
    """What a parallel branch worked on: its query or its paper (from the input summary)."""
    data = record.get("input") or {}
    if not isinstance(data, dict):
        return ""
    paper = data.get("paper")
    if isinstance(paper, dict) and paper.get("id"):
        return f" [{paper['id']}]"
    if isinstance(data.get("query"), str):
        return f" [{data['query']}]"
    return ""


def describe_call(call: dict[str, Any]) -> str:
    kind = call.get("kind")
    error = f" [red]error: {safe(str(call['error'])[:160])}[/]" if call.get("error") else ""
    if kind == "chat":
        tokens = call.get("tokens") or {}
        total = tokens.get("total_tokens") if isinstance(tokens, dict) else None
        used = f" {safe(total)} tok" if total else ""
        parsed = " parsed" if call.get("parsed") is not None else ""
        return (
            f"[green]chat[/] {safe(call.get('role'))} {safe(call.get('prompt'))} "
            f"{safe(call.get('model'))} ({safe(call.get('mode') or '?')}) "
            f"{number(call.get('latency_s')):.2f}s{used}{parsed}{error}"
        )
    if kind == "search":
        results = call.get("results")
        return (
            f"[yellow]search[/] {safe(call.get('backend'))} {safe(repr(call.get('query')))}: "
            f"{count(len(results) if isinstance(results, list) else 0, 'result')} "
            f"{number(call.get('latency_s')):.2f}s{error}"
        )
    if kind == "embeddings":
        vectors = call.get("vectors")
        return (
            f"[blue]embeddings[/] {safe(call.get('model'))} dim={safe(call.get('dim'))} "
            f"texts={len(vectors) if isinstance(vectors, list) else 0}"
        )
    if kind == "lookup":
        found = "found" if call.get("paper") else "not found"
        return (
            f"[yellow]lookup[/] {safe(call.get('backend'))} {safe(call.get('paper_id'))}: {found}"
        )
    return f"{safe(kind)}{error}"


def register(app: typer.Typer) -> None:
    app.command()(resume)
    app.command()(history)
    app.command()(fork)
    app.command()(replay)
    app.add_typer(trace_app, name="trace")
