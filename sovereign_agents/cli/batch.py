"""``sovereign batch GOALS.jsonl --out DIR``: many goals, one run folder each, on Ray or here."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sovereign_agents.cli.common import (
    CheckpointerOption,
    PresetName,
    checkpointer_spec,
    err,
    fail,
    out,
    parse_knobs,
    reported,
)
from sovereign_agents.escaping import one_line, rich_safe
from sovereign_agents.presets import DEFAULT_PRESET

if TYPE_CHECKING:
    from sovereign_agents.batch import BatchRecord, GoalOutcome

RayAddress = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="ADDRESS",
        help="run the goals as Ray tasks: 'local', a new local Ray instance; "
        "'auto', 'HOST:PORT' or 'ray://HOST:10001', a running cluster. Default: a local "
        "instance when Ray is installed, else one goal after another in this process",
    ),
]


def batch_command(
    goals: Annotated[
        Path, typer.Argument(help='JSON Lines, one {"goal": ...} a line (optional "paper")')
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="batch folder: a run folder per goal")],
    corpus: Annotated[
        Path | None,
        typer.Option(help="arXiv metadata JSON Lines (Kaggle or daily-listing); without: arXiv"),
    ] = None,
    llm: Annotated[str | None, typer.Option(help="'extractive' (default) or a spec")] = None,
    embeddings: Annotated[str | None, typer.Option(help="'lsa' (default) or a spec")] = None,
    preset: PresetName = None,
    knob: Annotated[
        list[str] | None,
        typer.Option("--set", help="KEY=JSON, any context knob (repeatable), as for `run`"),
    ] = None,
    ray: RayAddress = None,
    sequential: Annotated[
        bool, typer.Option("--sequential", help="run the goals one after another here, no Ray")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(help="CPUs of the local Ray instance: goals at once (default: all cores)"),
    ] = None,
    retries: Annotated[
        int, typer.Option(help="times Ray runs a goal again after its worker died")
    ] = 3,
    checkpointer: CheckpointerOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress display")] = False,
) -> None:
    """Run every goal of GOALS.jsonl into DIR/<run id>/ and summarize them in DIR/batch.json.

    A goal already finished in DIR (same goal and setup) is skipped; an unfinished one is
    resumed from its checkpoints. On Ray, a goal whose worker dies is run again and resumes."""
    from sovereign_agents.batch import read_goals, run_batch
    from sovereign_agents.context import Context, layered
    from sovereign_agents.corpus import load_corpus
    from sovereign_agents.engines import validate_specs
    from sovereign_agents.errors import InputError
    from sovereign_agents.fanout import LOCAL, RAY_EXTRA, ray_installed, require_ray

    with reported():
        if sequential and ray is not None:
            raise InputError("give --ray or --sequential, not both")
        if (workers is not None and workers < 1) or retries < 0:
            raise InputError("--workers must be >= 1 and --retries >= 0")
        read_goals(goals)  # a bad line is one error before Ray starts
        options: dict[str, Any] = {
            "llm": llm,
            "embeddings": embeddings,
            "corpus": str(corpus.resolve()) if corpus else None,  # workers may run elsewhere
        }
        given = {key: value for key, value in options.items() if value is not None}
        context = Context.preset(
            preset or DEFAULT_PRESET, **layered(given, parse_knobs(knob or []))
        )
        validate_specs(context)
        if corpus is not None:
            load_corpus(corpus)  # a clear error now, and the index cached for the workers
        store = checkpointer_spec(checkpointer)
        address = None if sequential else ray
        if address is not None:
            require_ray()
        elif not sequential and ray_installed():
            address = LOCAL
        elif not sequential and not quiet:
            err.print(
                f"Ray is not installed: running the goals one after another ({RAY_EXTRA} "
                "to run them in parallel)",
                markup=False,
            )
        if address != LOCAL and workers is not None:
            raise InputError("--workers sizes a local Ray instance (--ray local)")
        progress = _Progress(quiet)
        try:
            # Ray prints its raylet's notices (a worker died, a task is retried) on stdout:
            # they go to stderr with the progress, stdout keeps the summary
            with contextlib.redirect_stdout(sys.stderr):
                record = run_batch(
                    goals,
                    out_dir,
                    context,
                    ray=address,
                    workers=workers,
                    max_retries=retries,
                    checkpointer=store,
                    on_start=progress.start,
                    on_result=progress.advance,
                )
        finally:
            progress.stop()
    _print_summary(record, out_dir)
    if record.failed:
        fail(
            f"{len(record.failed)} of {len(record.runs)} goals failed; see {out_dir}/batch.json", 1
        )


class _Progress:
    """A rich progress bar on stderr: goals done of the batch, the last one's outcome."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None
        self.task: Any = None

    def start(self, record: BatchRecord) -> None:
        if self.quiet:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        done = sum(r.status != "pending" for r in record.runs)
        self.bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=False,
        )
        self.bar.start()
        self.task = self.bar.add_task(
            f"batch ({rich_safe(record.engine)})", total=len(record.runs), completed=done
        )
        if done:
            self.bar.console.print(f"{done} goal(s) already finished in this folder: skipped")

    def advance(self, outcome: GoalOutcome) -> None:
        if self.bar is None:
            return
        self.bar.advance(self.task)
        self.bar.console.print(_line(outcome), soft_wrap=True)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _line(outcome: GoalOutcome) -> str:
    goal = rich_safe(one_line(outcome.goal)[:70])
    if outcome.status == "failed":
        return f"[red]failed[/]   line {outcome.line}: {goal} — {rich_safe(outcome.error or '')}"
    resumed = (
        f" (resumed from step {outcome.resumed_from_step})"
        if outcome.resumed_from_step is not None
        else ""
    )
    score = f"{outcome.score:.2f}" if outcome.score is not None else "—"
    return (
        f"{rich_safe(outcome.status):8s} line {outcome.line}: {rich_safe(outcome.policy or '?')} "
        f"{score}/10{resumed} — {goal}"
    )


def _print_summary(record: BatchRecord, out_dir: Path) -> None:
    counts = ", ".join(f"{n} {status}" for status, n in sorted(record.counts.items()))
    out.print(
        f"{len(record.runs)} goals ({counts}) in {record.wall_s:.1f} s on {record.engine}",
        markup=False,
    )
    for run in record.runs:
        where = out_dir / run.folder
        if run.status == "failed":
            what = run.error or ""
        elif run.policy is not None:
            what = f"{run.policy} {run.score}"
        else:  # paused (waits for a human verdict: `sovereign resume FOLDER --verdict ...`)
            what = ""
        parts = [f"  line {run.line}:", run.status, what, str(where)]
        out.print(" ".join(p for p in parts if p), soft_wrap=True, markup=False)
    out.print(f"batch:  {out_dir / 'batch.json'}", soft_wrap=True, markup=False)
