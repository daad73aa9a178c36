"""``sovereign run GOAL``: the research graph on one goal, into a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sovereign_agents.cli.common import (
    CheckpointerOption,
    PresetName,
    checkpointer_spec,
    guarded,
    parse_knobs,
    parse_role_llms,
    print_result,
    progress_printer,
    reported,
)
from sovereign_agents.presets import DEFAULT_PRESET


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
    checkpointer: CheckpointerOption = None,
) -> None:
    """Run the research graph and write report.md, report.json, report.html and trace.jsonl."""
    from sovereign_agents.context import Context, layered
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
        spec = checkpointer_spec(checkpointer)
        if corpus is not None:
            from sovereign_agents.search.local import open_index

            # a clear error now rather than inside the graph; the graph then finds it open
            open_index(corpus, context.cache_dir)
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
                checkpointer=spec,
            )
    print_result(result)
