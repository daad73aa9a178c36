"""``sovereign eval ...``: evals that print numbers, write JSON and draw plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sovereign_agents.cli.common import out, parse_knobs, reported
from sovereign_agents.errors import InputError
from sovereign_agents.wording import count

if TYPE_CHECKING:
    from sovereign_agents.verification import Verifier

eval_app = typer.Typer(
    help="Evals: prompt sensitivity, verification accuracy, retrieval quality.",
    no_args_is_help=True,
)


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _goals(path: Path) -> list[dict[str, str]]:
    try:
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read goals file {path}: {exc}") from exc
    goals = [r if isinstance(r, dict) else {"goal": str(r)} for r in rows]
    if not goals or not all(isinstance(g.get("goal"), str) and g["goal"].strip() for g in goals):
        raise InputError(f"{path}: expected JSON Lines with a non-empty 'goal' on every line")
    return goals


@eval_app.command("sensitivity")
def sensitivity(
    variants: Annotated[str, typer.Option(help="ROLE@VERSION,...; the first is the baseline")],
    out_dir: Annotated[Path, typer.Option("--out", help="output folder")],
    run: Annotated[Path | None, typer.Option(help="a recorded run folder")] = None,
    goals: Annotated[
        Path | None,
        typer.Option(
            help="JSON Lines of goals: make the base runs first, then the sensitivity of each"
        ),
    ] = None,
    corpus: Annotated[Path | None, typer.Option(help="corpus for --goals base runs")] = None,
    perturb: Annotated[
        str | None, typer.Option(help="paraphrase,reorder,role-swap,shuffle-claims")
    ] = None,
    repeats: Annotated[int, typer.Option(help="repeats per condition")] = 3,
    llm: Annotated[str | None, typer.Option(help="chat model spec (default: the run's)")] = None,
    knob: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="KEY=JSON context knob for the base runs and the forks (repeatable), e.g. "
            """--set 'role_llms={"skeptic": "nvidia:m"}'""",
        ),
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="run the conditions as Ray tasks in parallel: 'local' (a new local instance) "
            "or a cluster address ('auto', 'HOST:PORT', 'ray://HOST:10001')",
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="CPUs of the local Ray instance (--ray local)")
    ] = None,
) -> None:
    """Fork a run before its tribunal and re-run it per prompt variant x repeat."""
    from sovereign_agents.context import Context
    from sovereign_agents.evals.sensitivity import run_sensitivity
    from sovereign_agents.evals.sensitivity_metrics import markdown_table
    from sovereign_agents.fanout import LOCAL, require_ray
    from sovereign_agents.runner import run_research

    with reported():
        if (run is None) == (goals is None):
            raise InputError("give exactly one of --run DIR or --goals FILE")
        if ray is not None:
            require_ray()  # one line naming the extra, before any run
        if workers is not None and (ray != LOCAL or workers < 1):
            raise InputError("--workers (>= 1) sizes a local Ray instance: --ray local")
        knobs = parse_knobs(knob or [])
        runs: list[tuple[Path, Path]] = []
        if run is not None:
            runs.append((run, out_dir))
        else:
            assert goals is not None
            for i, row in enumerate(_goals(goals)):
                base = out_dir / f"goal-{i}" / "base"
                values: dict[str, Any] = {
                    "corpus": str(corpus) if corpus else None,
                    "llm": llm or "extractive",
                    **knobs,
                }
                context = Context(**values)
                run_research(row["goal"], context, base, paper=row.get("paper"))
                runs.append((base, out_dir / f"goal-{i}"))
        for run_dir, target in runs:
            metrics = run_sensitivity(
                run_dir,
                target,
                variants=_split(variants),
                perturbations=_split(perturb),
                repeats=repeats,
                llm=llm,
                knobs=knobs,
                ray=ray,
                workers=workers,
            )
            out.print(f"[bold]{run_dir}[/]")
            out.print(markdown_table(metrics), soft_wrap=True, markup=False)
            out.print(f"written: {target / 'sensitivity.json'}, {target / 'sensitivity.png'}")


JUDGED_CHOICES = ("judge", "hybrid+judge")  # the hybrid with a chat model's stance judge


def eval_verifier(name: str, llm: str | None, knobs: dict[str, Any] | None = None) -> Verifier:
    """A verifier by CLI name (a registered one, or a judged hybrid: needs --llm)."""
    from sovereign_agents.context import Context
    from sovereign_agents.verification import VERIFIERS
    from sovereign_agents.verification.resolve import build_verifier

    choices = (*VERIFIERS, *JUDGED_CHOICES)
    if name not in choices:
        raise InputError(f"unknown verifier {name!r}: use one of {', '.join(choices)}")
    if name in JUDGED_CHOICES:
        if not llm or llm == "extractive":
            raise InputError(f"--verifier {name} needs a chat model: --llm nvidia:<model>")
        return build_verifier(Context(**{**(knobs or {}), "verifier": "hybrid", "llm": llm}))
    return build_verifier(Context(**{**(knobs or {}), "verifier": name, "llm": "extractive"}))


def with_stance_model(verifier: Verifier, name: str) -> Verifier:
    """The hybrid ``verifier`` with the shipped stance model ``name`` (e.g. stance_v3) in
    place of the default."""
    from dataclasses import replace

    from sovereign_agents.verification.hybrid import HybridVerifier
    from sovereign_agents.verification.stance_model import load_stance_model, shipped_stance_models

    if not isinstance(verifier, HybridVerifier):
        raise InputError("--stance picks the hybrid's stance model: use it with --verifier hybrid")
    names = shipped_stance_models()
    if name not in names:
        raise InputError(f"unknown stance model {name!r}: use one of {', '.join(names)}")
    return replace(verifier, stance=load_stance_model(f"{name}.json"))


@eval_app.command("verify")
def verify(
    claims: Annotated[Path, typer.Option(help="SciFact claims file (claims_train.jsonl)")],
    corpus: Annotated[Path, typer.Option(help="SciFact corpus.jsonl")],
    verifier: Annotated[
        str, typer.Option(help="tfidf (reference), hybrid, judge / hybrid+judge (need --llm)")
    ] = "hybrid",
    llm: Annotated[str | None, typer.Option(help="chat model spec for the judge")] = None,
    split: Annotated[
        str, typer.Option(help="all, held-out or fit (the hybrid's doc-grouped split)")
    ] = "all",
    stance: Annotated[
        str | None,
        typer.Option(
            help="the hybrid's stance model by name (stance_v1, ...; default: the shipped default)"
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="only the first N pairs")] = None,
    batch: Annotated[int, typer.Option(help="pairs per verifier call (a run's size)")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="print the metrics as JSON")] = False,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="write metrics JSON + calibration plot here")
    ] = None,
    knob: Annotated[
        list[str] | None,
        typer.Option("--set", help="KEY=JSON context knob (repeatable), e.g. max_tokens=256"),
    ] = None,
) -> None:
    """Verification accuracy on SciFact (claim, cited abstract) pairs: evidence detection,
    support, and the share of contradicted pairs marked verified."""
    from sovereign_agents.evals.scifact import load_pairs, split_pairs
    from sovereign_agents.evals.verification import evaluate, write_outputs

    with reported():
        if split not in ("all", "held-out", "fit"):
            raise InputError(f"--split must be all, held-out or fit, not {split!r}")
        if batch < 1 or (limit is not None and limit < 1):
            raise InputError("--batch and --limit must be >= 1")
        chosen = eval_verifier(verifier, llm, parse_knobs(knob or []))
        if stance is not None:
            chosen = with_stance_model(chosen, stance)
        pairs = load_pairs(claims, corpus)
        if split != "all":
            fit, held = split_pairs(pairs)
            pairs = held if split == "held-out" else fit
        pairs = pairs[:limit] if limit else pairs
        run = evaluate(chosen, pairs, batch)
        if out_dir is not None:
            written = write_outputs(
                run, out_dir, {"claims_file": str(claims), "split": split, "batch": batch}
            )
        m = run.metrics
        if as_json:
            typer.echo(json.dumps(m.summary()))
        else:
            out.print(
                f"[bold]{run.verifier}[/] on {count(m.pairs, 'pair')} ({split}) — {run.description}"
            )
            for name, x in (("evidence", m.evidence), ("support", m.support)):
                out.print(f"{name:9s} P {x.precision:.3f}  R {x.recall:.3f}  F1 {x.f1:.3f}")
            out.print(
                f"contradicted but verified: {m.contradicted_but_verified:.1%}; "
                f"ECE {m.expected_calibration_error:.3f}; {run.pairs_per_second} pairs/s"
            )
        if out_dir is not None and not as_json:
            out.print("written: " + ", ".join(str(p) for p in written))


@eval_app.command("retrieval")
def retrieval(
    data: Annotated[
        Path | None, typer.Option(help="SciFact folder (default: shared data's scifact/)")
    ] = None,
    split: Annotated[
        str, typer.Option(help="claims split: train, dev or test (needs claims_<split>.jsonl)")
    ] = "train",
    alpha: Annotated[
        float, typer.Option(help="hybrid weight of BM25 against LSA cosine, in [0, 1]")
    ] = 0.8,
    lsa_dim: Annotated[int, typer.Option(help="LSA dimension of the hybrid")] = 128,
    limit: Annotated[int | None, typer.Option(help="only the first N claims")] = None,
    ranker: Annotated[
        list[str] | None,
        typer.Option(help="a ranker to score: bm25, hybrid or rerank (repeatable; default all)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """SciFact the BEIR way: nDCG@10 and recall@100 of BM25, the BM25+LSA hybrid and the
    re-ranker (the graph's default ranking)."""
    from sovereign_agents.evals.retrieval import RANKERS, markdown_table, run_retrieval_eval
    from sovereign_agents.testing import shared_data

    with reported():
        report = run_retrieval_eval(
            data or shared_data() / "scifact",
            split=split,
            alpha=alpha,
            lsa_dim=lsa_dim,
            limit=limit,
            rankers=ranker or RANKERS,
        )
    if as_json:
        print(report.model_dump_json(indent=2))
    else:
        out.print(markdown_table(report), soft_wrap=True, markup=False)


@eval_app.command("approval")
def approval(
    scifact: Annotated[
        Path | None, typer.Option(help="SciFact folder (default: shared data's scifact/)")
    ] = None,
    limit: Annotated[
        int, typer.Option(help="SciFact claims to run, half answerable, half withheld (0: none)")
    ] = 40,
    arxiv_goals: Annotated[
        Path | None, typer.Option(help="hand-labelled goals JSON Lines (default: the shipped set)")
    ] = None,
    arxiv_corpus: Annotated[
        Path | None,
        typer.Option(help="corpus of the arXiv goals (default: shared data's daily listing)"),
    ] = None,
    workers: Annotated[int, typer.Option(help="runs in parallel (processes)")] = 2,
    out_dir: Annotated[
        Path, typer.Option("--out", help="folder for the run folders and approval.json")
    ] = Path("evals/out/approval"),
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Is AUTO_APPROVE given only to answerable goals? Precision and false-approval rates."""
    from sovereign_agents.evals.approval import (
        ARXIV_GOALS,
        markdown_table,
        run_approval_eval,
        scifact_goals,
    )
    from sovereign_agents.evals.approval import (
        arxiv_goals as load_arxiv_goals,
    )
    from sovereign_agents.testing import shared_data

    with reported():
        if workers < 1 or limit < 0:
            raise InputError("--workers must be >= 1 and --limit >= 0")
        data = shared_data()
        goals = []
        if limit:
            folder = scifact or data / "scifact"
            goals += scifact_goals(folder / "claims_train.jsonl", folder / "corpus.jsonl", limit)
        corpus = arxiv_corpus or (
            data
            / "arxiv_metadata"
            / "daily_listing_cs"
            / "arxiv_cs_daily_2025-05-01_2025-06-09.jsonl"
        )
        goals += load_arxiv_goals(arxiv_goals or ARXIV_GOALS, corpus)
        report = run_approval_eval(goals, out_dir, workers=workers)
    (out_dir / "approval.json").write_text(report.model_dump_json(indent=2) + "\n")
    (out_dir / "approval.md").write_text(markdown_table(report) + "\n")
    if as_json:
        print(report.model_dump_json(indent=2, exclude={"outcomes"}))
    else:
        out.print(markdown_table(report), soft_wrap=True, markup=False)
        out.print(f"wall {report.wall_s} s; written: {out_dir / 'approval.json'}", markup=False)


@eval_app.command("research")
def research(
    claims: Annotated[Path, typer.Option(help="SciFact claims file (claims_train.jsonl)")],
    corpus: Annotated[Path, typer.Option(help="SciFact corpus.jsonl")],
    limit: Annotated[int | None, typer.Option(help="only the first N claims")] = None,
    llm: Annotated[str | None, typer.Option(help="chat model spec (default: extractive)")] = None,
    workers: Annotated[
        int | None, typer.Option(help="parallel runs (processes; default: one per core)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the metrics as JSON")] = False,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="keep every run folder here, with a per-claim table"),
    ] = None,
) -> None:
    """The whole graph on SciFact: each claim a goal ("Is it true that <claim>?"), the
    report scored for retrieval recall, evidence sentences and SciFact's label-only F1."""
    from sovereign_agents.evals.research import (
        markdown_table,
        run_research_eval,
        write_outputs,
    )

    with reported():
        evaluation = run_research_eval(
            claims, corpus, limit=limit, llm=llm, out_dir=out_dir, workers=workers
        )
        written = write_outputs(evaluation, out_dir) if out_dir is not None else []
    if as_json:
        typer.echo(json.dumps(evaluation.summary()))
        return
    out.print(markdown_table(evaluation), soft_wrap=True, markup=False)
    failed = [r for r in evaluation.runs if r.error]
    if failed:
        out.print(f"{len(failed)} run(s) failed (scored as finding nothing): {failed[0].error}")
    if written:
        out.print("written: " + ", ".join(str(p) for p in written))
