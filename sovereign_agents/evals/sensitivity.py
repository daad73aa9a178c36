"""Prompt sensitivity: re-run the tribunal of a recorded run under prompt variants.

The recorded run's checkpoints are copied, the checkpoint taken right after ``draft`` (before
the reviewers of round 0) is found, and for every condition x repeat the graph is
forked from it: the tribunal and its revision route run again, nothing upstream is
recomputed. Conditions are the prompt variants given (``skeptic@v2`` ...; the first is the
baseline) followed by the baseline under each perturbation.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Overwrite

from sovereign_agents import roles
from sovereign_agents.errors import InputError
from sovereign_agents.evals.perturb import (
    PERTURBATIONS,
    PROMPT_PERTURBATIONS,
    write_perturbed_prompts,
)
from sovereign_agents.evals.sensitivity_metrics import Outcome, SensitivityMetrics, summarize
from sovereign_agents.fanout import fan_out, use_worker_cache_dir, worker_cache_dir
from sovereign_agents.graph import ResearchGraph, build_graph
from sovereign_agents.prompts import available_versions
from sovereign_agents.runner import (
    CHECKPOINTS,
    checkpoint_kind,
    context_from_run,
    read_run,
    sqlite_checkpointer,
    with_concurrency,
)


def fork_roles() -> tuple[str, ...]:
    """The roles that run again after the fork: the reviewers and the reviser."""
    return (*roles.reviewer_names(), *roles.names_of("reviser"))


def parse_variant(text: str) -> tuple[str, str]:
    role, _, version = text.strip().partition("@")
    if role not in fork_roles() or not version:
        raise InputError(f"variant {text!r}: expected ROLE@VERSION with ROLE one of {fork_roles()}")
    return role, version


def tribunal_checkpoint(graph: ResearchGraph, thread_id: str) -> RunnableConfig:
    """The checkpoint after ``draft`` of round 0: the reviewers are next."""
    config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
    reviewers = set(roles.reviewer_names())
    found = None
    for snapshot in graph.get_state_history(config):
        if reviewers & set(snapshot.next) and snapshot.values.get("revision_round", 0) == 0:
            found = snapshot.config  # history runs newest first: keep the earliest
    if found is None:
        raise InputError(
            "the run has no checkpoint before its tribunal (was it finished with "
            "a checkpointer? run it with `sovereign run`)"
        )
    return found


def run_sensitivity(
    run_dir: str | Path,
    out_dir: str | Path,
    *,
    variants: list[str],
    perturbations: list[str] | None = None,
    repeats: int = 3,
    llm: Any = None,
    knobs: dict[str, Any] | None = None,
    seed: int = 0,
    on_result: Callable[[Outcome], None] | None = None,
    ray: str | None = None,
    workers: int | None = None,
) -> SensitivityMetrics:
    """Every condition x repeat forked from the run's tribunal checkpoint; the metrics,
    written to ``out_dir`` (sensitivity.json, .md, .png).

    The conditions run one after another here, or with ``ray`` (``"local"`` or a cluster
    address, see ``fanout``) as one Ray task each, in parallel, each forking from its own copy
    of the run's checkpoints. The outcomes are the same either way (the shuffle of
    ``shuffle-claims`` is seeded per condition)."""
    run_path, out = Path(run_dir), Path(out_dir)
    run = read_run(run_path)
    if checkpoint_kind(run) != "sqlite":
        raise InputError(
            f"{run_path} keeps its checkpoints in PostgreSQL; sensitivity needs a run kept in its folder"
        )
    if not variants:
        raise InputError("give at least one variant, e.g. skeptic@v1,skeptic@v2")
    perturbations = perturbations or []
    unknown = set(perturbations) - set(PERTURBATIONS)
    if unknown:
        raise InputError(f"unknown perturbations {sorted(unknown)}; known: {PERTURBATIONS}")
    if repeats < 1:
        raise InputError("--repeats must be >= 1")
    out.mkdir(parents=True, exist_ok=True)
    thread_id = run["thread_id"]
    overrides: dict[str, Any] = {**(knobs or {}), **({"llm": llm} if llm is not None else {})}
    base = context_from_run(run, **overrides)
    pinned = {
        role: base.models.prompt_versions.get(role)
        or available_versions(role, base.models.prompts_dir)[-1]
        for role in roles.engine_roles()
    }
    parsed = [parse_variant(v) for v in variants]
    for role, version in parsed:
        if version not in available_versions(role, base.models.prompts_dir):
            raise InputError(f"no prompt {role}@{version}")
    conditions: list[tuple[str, dict[str, str], str | None]] = [
        (v, {**pinned, role: version}, None)
        for v, (role, version) in zip(variants, parsed, strict=True)
    ]
    conditions += [(f"{variants[0]}+{p}", conditions[0][1], p) for p in perturbations]
    jobs: list[ConditionJob] = []
    for index, (name, versions, perturbation) in enumerate(conditions):
        prompts_dir = base.models.prompts_dir
        if perturbation in PROMPT_PERTURBATIONS:
            prompts_dir = str(
                write_perturbed_prompts(perturbation, versions, out, base.models.prompts_dir)
            )
        # one copy of the checkpoints to fork from; on Ray, one per condition (its own writer)
        db = out / (f"fork-checkpoints-{index}.sqlite" if ray else "fork-checkpoints.sqlite")
        if ray or index == 0:
            shutil.copyfile(run_path / CHECKPOINTS, db)
        jobs.append(
            ConditionJob(
                run_dir=str(run_path.resolve()),
                db=str(db.resolve()),
                thread_id=thread_id,
                name=name,
                overrides={**overrides, "prompt_versions": versions, "prompts_dir": prompts_dir},
                perturbation=perturbation,
                repeats=repeats,
                seed=seed,
                cache_dir=worker_cache_dir(base.cache_dir) if ray else None,
            )
        )
    results: dict[int, list[Outcome]] = {}
    for index, result in fan_out(run_condition, jobs, ray=ray, workers=workers):
        if isinstance(result, BaseException):
            raise result
        results[index] = result
        for outcome in result:
            if on_result:
                on_result(outcome)
    outcomes = [o for index in range(len(jobs)) for o in results[index]]
    metrics = summarize(outcomes, base.tribunal.approve_threshold)
    write_outputs(out, metrics, outcomes)
    return metrics


@dataclass
class ConditionJob:
    """One condition's repeats: what a worker needs to run them (picklable)."""

    run_dir: str
    db: str  # the copy of the run's checkpoints the repeats fork from
    thread_id: str
    name: str
    overrides: dict[str, Any]  # context knobs over the run's: the condition's prompts
    perturbation: str | None
    repeats: int
    seed: int
    cache_dir: str | None = None  # the driver's cache folder, for workers in other processes


def run_condition(job: ConditionJob) -> list[Outcome]:
    """The repeats of one condition, each forked from the tribunal checkpoint."""
    use_worker_cache_dir(job.cache_dir)
    run = read_run(Path(job.run_dir))
    context = context_from_run(run, **job.overrides)
    rng = random.Random(job.seed)
    outcomes: list[Outcome] = []
    with sqlite_checkpointer(Path(job.db)) as saver:
        graph = build_graph(checkpointer=saver)
        start = tribunal_checkpoint(graph, job.thread_id)
        for repeat in range(job.repeats):
            config = start
            if job.perturbation == "shuffle-claims":
                claims = list(graph.get_state(start).values.get("claims", []))
                rng.shuffle(claims)
                config = graph.update_state(start, {"claims": Overwrite(claims)}, as_node="draft")
            result = graph.invoke(None, with_concurrency(config, context), context=context)
            report = result["report"]
            outcomes.append(
                Outcome(
                    condition=job.name,
                    repeat=repeat,
                    score=result["tribunal_score"],
                    verdict=result["verdict"],
                    policy=result["policy"],
                    rounds=[r["score"] for r in report["tribunal"]["rounds"]],
                )
            )
    return outcomes


def write_outputs(out: Path, metrics: SensitivityMetrics, outcomes: list[Outcome]) -> None:
    from sovereign_agents.evals.sensitivity_metrics import markdown_table

    data = {
        **metrics.model_dump(mode="json"),
        "results": [o.model_dump(mode="json") for o in outcomes],
    }
    (out / "sensitivity.json").write_text(json.dumps(data, indent=2) + "\n")
    (out / "sensitivity.md").write_text(markdown_table(metrics))
    plot_scores(out / "sensitivity.png", metrics, outcomes)


def plot_scores(path: Path, metrics: SensitivityMetrics, outcomes: list[Outcome]) -> None:
    """Score distribution per condition (points over a box), with the approval line.

    Drawn with matplotlib's object API (no pyplot, no backend switch: a host's matplotlib
    state is left as it was)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:  # the plots extra is not installed: numbers are still written
        return
    names = [c.condition for c in metrics.conditions]
    groups = [[o.score for o in outcomes if o.condition == n] for n in names]
    fig = Figure(figsize=(max(5.0, 1.3 * len(names)), 4.0))
    ax = fig.subplots()
    ax.boxplot(groups, tick_labels=names, widths=0.5)
    for i, scores in enumerate(groups, start=1):
        jitter = [i + 0.06 * (k - (len(scores) - 1) / 2) for k in range(len(scores))]
        ax.scatter(jitter, scores, s=18, alpha=0.7, zorder=3)
    ax.axhline(metrics.threshold, color="tab:red", linestyle="--", linewidth=1)
    ax.text(
        0.52,
        metrics.threshold + 0.1,
        f"approve >= {metrics.threshold}",
        color="tab:red",
        fontsize=8,
    )
    ax.set_ylim(0, 10)
    ax.set_ylabel("final tribunal score")
    ax.set_title(
        f"prompt sensitivity (flip rate {metrics.flip_rate:.2f}, crossing rate "
        f"{metrics.threshold_crossing_rate:.2f})",
        fontsize=9,
    )
    ax.tick_params(axis="x", labelrotation=20, labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
