"""The ``sovereign`` command line (also ``python -m sovereign_agents``)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from sovereign_agents.context import Context
from sovereign_agents.errors import ConfigError, SovereignError
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
err = Console(stderr=True, highlight=False)
out = Console(highlight=False)


@app.callback()
def _root() -> None:
    """sovereign-agents: research goal in, verified and reviewed draft report out."""


def fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(redact(message))}", soft_wrap=True)
    raise typer.Exit(code)


def progress_printer(quiet: bool) -> Any:
    def show(event: dict[str, Any]) -> None:
        if quiet:
            return
        if event.get("event") == "progress":
            message = escape(redact(str(event["message"])))
            err.print(f"[cyan]{event['node']:>11}[/] {message}", soft_wrap=True)

    return show


def parse_knobs(values: list[str]) -> dict[str, Any]:
    """``KEY=JSON`` pairs for Context fields (a bare word is taken as a string)."""
    from dataclasses import fields

    names = {f.name for f in fields(Context)}
    knobs: dict[str, Any] = {}
    for value in values:
        key, sep, raw = value.partition("=")
        if not sep or key not in names:
            raise ConfigError(f"--set takes KEY=JSON with KEY a context field, not {value!r}")
        knobs[key] = json_value(raw)
    return knobs


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
    llm: Annotated[str, typer.Option(help="'extractive' or 'nvidia:<model>'")] = "extractive",
    embeddings: Annotated[str, typer.Option(help="'lsa' or 'nvidia:<model>'")] = "lsa",
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
            "--set", help="KEY=JSON, any Context knob (repeatable), e.g. --set max_papers=6"
        ),
    ] = None,
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
) -> None:
    """Run the research graph and write report.md, report.json and trace.jsonl."""
    from sovereign_agents.corpus import load_corpus
    from sovereign_agents.engines import validate_specs
    from sovereign_agents.runner import run_research

    if not goal.strip():
        fail("the research goal is empty")
    with reported():
        values: dict[str, Any] = {
            "llm": llm,
            "embeddings": embeddings,
            "corpus": str(corpus) if corpus else None,
            "llm_base_url": llm_base_url,
            "role_llms": parse_role_llms(role_llm or []),
            "model_cache": cache,
            "arxiv_categories": list(category or []),
            "arxiv_date_from": since,
            "arxiv_date_to": until,
            "review_disputed": review_disputed,
        }
        values.update(parse_knobs(knob or []))
        try:
            context = Context(**values)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"bad setting: {exc}") from exc
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
    """A bug in a run becomes one line; the run folder keeps what was produced."""
    try:
        yield
    except SovereignError:
        raise
    except Exception as exc:
        if os.environ.get("SOVEREIGN_DEBUG"):
            raise
        fail(
            f"unexpected {type(exc).__name__}: {exc} (checkpoints and trace kept in "
            f"{run_dir}; `sovereign resume {run_dir}` continues; set SOVEREIGN_DEBUG=1 for "
            "the traceback)",
            1,
        )


def print_result(result: RunResult) -> None:
    """The outcome of a run: where its files are, or where it paused and how to go on."""
    if result.paused:
        where = ", ".join(result.next)
        out.print(f"paused at: {where} (checkpoint {result.checkpoint_id})")
        disputed = [
            c for p in result.interrupts if isinstance(p, dict) for c in p.get("claims", [])
        ]
        for claim in disputed:
            out.print(
                f"  disputed {claim['id']} ({claim['confidence']:.3f}, "
                f"{'verified' if claim['verified'] else 'unverified'}): {claim['text']}",
                soft_wrap=True,
            )
            for reason in claim["reasons"]:
                out.print(f"      - {reason}", soft_wrap=True)
        verdicts = " ".join(f"--verdict {c['id']}=supported|rejected" for c in disputed)
        out.print(
            f"continue: sovereign resume {result.out_dir} {verdicts}".rstrip(), soft_wrap=True
        )
        out.print(f"inspect:  sovereign history {result.out_dir}", soft_wrap=True)
        return
    out.print(decision_line(result.values), soft_wrap=True)
    out.print(f"report: {result.report_md}", soft_wrap=True)
    out.print(f"json:   {result.report_json}", soft_wrap=True)
    out.print(f"trace:  {result.trace}", soft_wrap=True)


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

    app.add_typer(eval_app, name="eval")
    cli_debug.register(app)
    app.command("search")(search_command)
    app.command("bench")(bench_command)


_register_subcommands()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
