"""The ``sovereign`` command line (also ``python -m sovereign_agents``)."""

from __future__ import annotations

import errno
import json
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from sovereign_agents.context import Context, layered
from sovereign_agents.errors import ConfigError, SovereignError
from sovereign_agents.escaping import one_line, rich_safe, terminal
from sovereign_agents.presets import DEFAULT_PRESET, PRESETS
from sovereign_agents.redaction import redact
from sovereign_agents.wording import score

if TYPE_CHECKING:
    from sovereign_agents.runner import RunResult

app = typer.Typer(
    name="sovereign",
    help="Turn a research goal into a verified, reviewed draft report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class SafeConsole(Console):
    """A console that strips escape sequences and control characters from every string it
    prints (data is interpolated through ``rich_safe``, which also escapes rich markup)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(terminal(o) if isinstance(o, str) else o for o in objects), **kwargs)


err = SafeConsole(stderr=True, highlight=False)
out = SafeConsole(highlight=False)


@app.callback()
def _root() -> None:
    """sovereign-agents: research goal in, verified and reviewed draft report out."""


def fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {rich_safe(one_line(redact(message)))}", soft_wrap=True)
    raise typer.Exit(code)


def progress_printer(quiet: bool) -> Any:
    def show(event: dict[str, Any]) -> None:
        if quiet:
            return
        if event.get("event") == "progress":
            message = rich_safe(redact(str(event["message"])))
            err.print(f"[cyan]{rich_safe(event['node']):>11}[/] {message}", soft_wrap=True)

    return show


def parse_knobs(values: list[str]) -> dict[str, Any]:
    """``KEY=JSON`` pairs for context knobs (a bare word is taken as a string): a flat key
    (``max_papers``) or a dotted one (``search.max_papers``). Each is checked now, so a bad
    key or value is one line before anything runs."""
    knobs: dict[str, Any] = {}
    for value in values:
        key, sep, raw = value.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set takes KEY=JSON with KEY a context knob, not {value!r}")
        knobs[key.strip()] = json_value(raw)
    Context(**knobs)  # a ConfigError naming the knob
    return knobs


PresetName = Annotated[
    str | None,
    typer.Option(
        "--preset",
        help="start from a named context preset (explicit options and --set win): "
        + ", ".join(PRESETS),
    ),
]


def json_value(raw: str) -> Any:
    """The value of a ``KEY=JSON`` option: JSON, or a bare word taken as a string."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_role_llms(values: list[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        role, sep, spec = value.partition("=")
        if not sep or not role.strip() or not spec.strip():
            raise ConfigError(f"--role-llm takes ROLE=SPEC, not {value!r}")
        pairs[role.strip()] = spec.strip()
    return pairs


@app.command()
def run(
    goal: Annotated[str, typer.Argument(help="the research goal (a question)")],
    paper: Annotated[str | None, typer.Option(help="anchor the run on this arXiv id")] = None,
    corpus: Annotated[
        Path | None,
        typer.Option(
            help="arXiv metadata JSON Lines (Kaggle or daily-listing format); without it, arXiv"
        ),
    ] = None,
    llm: Annotated[
        str | None, typer.Option(help="'extractive' (default) or 'nvidia:<model>'")
    ] = None,
    embeddings: Annotated[
        str | None, typer.Option(help="'lsa' (default) or 'nvidia:<model>'")
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="run folder")] = Path("runs/latest"),
    llm_base_url: Annotated[
        str | None,
        typer.Option(help="self-hosted NIM or OpenAI-compatible URL (default: NVIDIA_BASE_URL)"),
    ] = None,
    role_llm: Annotated[
        list[str] | None,
        typer.Option(
            help="ROLE=SPEC, a model for one role (repeatable), e.g. skeptic=nvidia:<model>"
        ),
    ] = None,
    cache: Annotated[
        bool,
        typer.Option(
            "--cache", help="cache model responses: an identical rerun makes no model calls"
        ),
    ] = False,
    category: Annotated[
        list[str] | None, typer.Option(help="arXiv category filter (repeatable), e.g. cs.CL")
    ] = None,
    since: Annotated[str | None, typer.Option(help="arXiv: submitted on/after YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option(help="arXiv: submitted on/before YYYY-MM-DD")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress lines")] = False,
    knob: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="KEY=JSON, any context knob (repeatable), e.g. --set max_papers=6 or "
            "--set search.max_papers=6",
        ),
    ] = None,
    preset: PresetName = None,
    interrupt_before: Annotated[
        list[str] | None,
        typer.Option(help="pause before this node (repeatable); continue with `sovereign resume`"),
    ] = None,
    interrupt_after: Annotated[
        list[str] | None, typer.Option(help="pause after this node (repeatable)")
    ] = None,
    review_disputed: Annotated[
        bool,
        typer.Option(
            "--review-disputed",
            help="pause for a human verdict on disputed claims (answer with resume --verdict)",
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="start over even if --out holds an unfinished (resumable) run; a finished "
            "run there is always replaced",
        ),
    ] = False,
) -> None:
    """Run the research graph and write report.md, report.json, report.html and trace.jsonl."""
    from sovereign_agents.corpus import load_corpus
    from sovereign_agents.engines import validate_specs
    from sovereign_agents.nodes.plan import check_goal
    from sovereign_agents.runner import run_research

    with reported():
        check_goal(goal)
        options: dict[str, Any] = {  # only the options given: they win over the preset
            "llm": llm,
            "embeddings": embeddings,
            "corpus": str(corpus) if corpus else None,
            "llm_base_url": llm_base_url,
            "role_llms": parse_role_llms(role_llm or []) or None,
            "model_cache": cache or None,
            "arxiv_categories": list(category or []) or None,
            "arxiv_date_from": since,
            "arxiv_date_to": until,
            "review_disputed": review_disputed or None,
        }
        given = {key: value for key, value in options.items() if value is not None}
        knobs = parse_knobs(knob or [])
        context = Context.preset(preset or DEFAULT_PRESET, **layered(given, knobs))
        validate_specs(context)
        if corpus is not None:
            load_corpus(corpus)  # a clear error now rather than inside the graph
        with guarded(out_dir):
            result = run_research(
                goal,
                context,
                out_dir,
                paper=paper,
                on_event=progress_printer(quiet),
                interrupt_before=interrupt_before or (),
                interrupt_after=interrupt_after or (),
                force=force,
            )
    print_result(result)


@contextmanager
def reported() -> Iterator[None]:
    """Bad input or an unreachable service (a SovereignError) becomes one line on stderr
    and the error's exit code, never a traceback."""
    try:
        yield
    except SovereignError as exc:
        fail(str(exc), exc.exit_code)


@contextmanager
def guarded(run_dir: Path) -> Iterator[None]:
    """A bug in a run becomes one line; the run folder keeps what was produced. Ctrl-C or
    SIGTERM stops the run at once with one line saying how to continue it."""
    try:
        with stoppable(run_dir):
            yield
    except SovereignError:
        raise
    except Exception as exc:
        if os.environ.get("SOVEREIGN_DEBUG"):
            raise
        if disk_full(exc):
            then = (
                f"`sovereign resume {run_dir}` continues from the last checkpoint"
                if (run_dir / "run.json").is_file()
                else "run again"
            )
            fail(f"disk full while writing {run_dir} ({exc}); free some space, then {then}", 1)
        fail(
            f"unexpected {type(exc).__name__}: {exc} (checkpoints and trace kept in "
            f"{run_dir}; `sovereign resume {run_dir}` continues; set SOVEREIGN_DEBUG=1 for "
            "the traceback)",
            1,
        )


def disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return isinstance(exc, sqlite3.OperationalError) and "full" in str(exc)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def stoppable(run_dir: Path) -> Iterator[None]:
    """While a run writes into ``run_dir``, SIGINT and SIGTERM end the process at once.

    Nothing is lost that a resume needs: every finished step is checkpointed and every
    finished task's writes are saved as it finishes, so stopping is a kill that resume is
    built for -- and waiting for in-flight model calls (minutes) is what a user pressing
    Ctrl-C does not want. The handler writes one line with ``os.write`` (no lock it could
    deadlock on) and leaves with ``os._exit`` (no thread to join)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        name = signal.Signals(signum).name
        line = (
            f"stopped by {name}; checkpoints kept in {run_dir}; continue with "
            f"`sovereign resume {run_dir}`\n"
        )
        os.write(sys.stderr.fileno(), line.encode(errors="replace"))
        os._exit(128 + signum)

    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def print_result(result: RunResult) -> None:
    """The outcome of a run: where its files are, or where it paused and how to go on."""
    if result.paused:
        where = rich_safe(", ".join(result.next))
        out.print(f"paused at: {where} (checkpoint {rich_safe(result.checkpoint_id)})")
        disputed = [
            c for p in result.interrupts if isinstance(p, dict) for c in p.get("claims", [])
        ]
        for claim in disputed:
            out.print(
                f"  disputed {rich_safe(claim['id'])} ({claim['confidence']:.3f}, "
                f"{'verified' if claim['verified'] else 'unverified'}): "
                f"{rich_safe(one_line(claim['text']))}",
                soft_wrap=True,
            )
            for reason in claim["reasons"]:
                out.print(f"      - {rich_safe(one_line(reason))}", soft_wrap=True)
        verdicts = " ".join(f"--verdict {c['id']}=supported|rejected" for c in disputed)
        out.print(
            f"continue: sovereign resume {result.out_dir} {verdicts}".rstrip(),
            soft_wrap=True,
            markup=False,
        )
        out.print(f"inspect:  sovereign history {result.out_dir}", soft_wrap=True, markup=False)
        return
    out.print(decision_line(result.values), soft_wrap=True, markup=False)
    out.print(f"report: {result.report_md}", soft_wrap=True, markup=False)
    out.print(f"json:   {result.report_json}", soft_wrap=True, markup=False)
    out.print(f"html:   {result.report_html}", soft_wrap=True, markup=False)
    out.print(f"trace:  {result.trace}", soft_wrap=True, markup=False)


def decision_line(values: dict[str, Any]) -> str:
    """The run's outcome as one sentence: the policy's decision stands, with its reason; the
    tribunal's verdict is named beside it (with its score when the reason does not give it)."""
    decision = values.get("decision")
    if isinstance(decision, dict):
        reason = str(decision.get("reason", ""))
    else:
        reason = str(getattr(decision, "reason", ""))
    mean = score(float(values.get("tribunal_score", 0.0)))
    verdict = values.get("verdict", "?")
    at = "" if mean in reason else f" at {mean}/10"
    return (
        f"Decision: {values.get('policy', '?')} — {reason or 'no reason recorded'}; "
        f"the tribunal's verdict was {verdict}{at}, the policy decides."
    )


def _register_subcommands() -> None:
    from sovereign_agents import cli_debug
    from sovereign_agents.cli_bench import bench_command
    from sovereign_agents.cli_eval import eval_app
    from sovereign_agents.cli_search import search_command
    from sovereign_agents.cli_show import show_command

    app.add_typer(eval_app, name="eval")
    cli_debug.register(app)
    app.command("search")(search_command)
    app.command("bench")(bench_command)
    app.command("show")(show_command)


_register_subcommands()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
