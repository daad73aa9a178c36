"""``eval research``: the whole graph as a claim-verification system on SciFact.

Each SciFact claim becomes a goal, ``Is it true that <claim>?``; the SciFact corpus, converted
once into arXiv JSON Lines (``retrieval.convert_scifact``, cached), is the run's local corpus;
the run's report is scored against the claim's gold (``research_metrics``).

The report's stance on each paper. A report lists claims per paper (each with the evidence
sentence it rests on) and checks each claim against its own source; it does not itself say
whether a paper supports or refutes the goal. The stance scored here is the run's own verifier
(the same one, same model and threshold: the hybrid with its stance model offline, the stance
judge with a chat model) applied to the goal's proposition (the SciFact claim) against the
evidence the report kept from that paper (its title and the evidence sentences of its active
claims). A stance label SUPPORT / CONTRADICT is the prediction; NOT_ENOUGH_INFO, or no
evidence found, is none. Where the verifier gives no stance label, evidence found and verified
is SUPPORT, evidence found and not verified CONTRADICT. Papers without claims get no stance.

Runs go in parallel, one process per core (``workers``), each run in its own folder.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from sovereign_agents.errors import InputError, SovereignError
from sovereign_agents.evals.research_metrics import (
    Counts,
    GoldClaim,
    ResearchMetrics,
    locate,
    research_metrics,
    score_claim,
)
from sovereign_agents.evals.retrieval import convert_scifact

if TYPE_CHECKING:
    from sovereign_agents.verification import Verifier

STANCE_LABELS = ("SUPPORT", "CONTRADICT")


class ClaimRun(BaseModel):
    """One claim's run and its score: a row of the per-claim table."""

    claim_id: int
    goal: str
    run_dir: str | None
    wall_s: float
    papers: list[str] = []
    gold_found: list[str] = []
    evidence: list[tuple[str, int]] = []
    stances: dict[str, str] = {}
    gold_labels: dict[str, str] = {}
    counts: Counts = Counts()
    policy: str | None = None
    error: str | None = None


class ResearchEval(BaseModel):
    claims_file: str
    corpus_file: str
    llm: str
    workers: int
    metrics: ResearchMetrics
    wall_s: float
    runs: list[ClaimRun]

    def summary(self) -> dict[str, object]:
        return self.metrics.summary(self.wall_s)


def goal_of(claim: str) -> str:
    """``Is it true that <claim>?``: the claim's final full stop dropped, its first letter
    lower-cased when it starts an ordinary word (``The`` -> ``the``, ``ALDH1`` stays)."""
    text = " ".join(claim.split()).rstrip(" .")
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        text = text[0].lower() + text[1:]
    return f"Is it true that {text}?"


def _jsonl(path: Path) -> list[Any]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc


def load_gold(path: Path) -> list[GoldClaim]:
    """SciFact claims with at least one cited abstract, with their gold (file order)."""
    out: list[GoldClaim] = []
    for number, row in enumerate(_jsonl(path), start=1):
        try:
            evidence = row.get("evidence") or {}
            out.append(
                GoldClaim(
                    id=row["id"],
                    claim=row["claim"],
                    cited=[str(d) for d in row.get("cited_doc_ids") or []],
                    rationales={
                        str(d): sorted({i for r in rs for i in r["sentences"]})
                        for d, rs in evidence.items()
                    },
                    labels={str(d): rs[0]["label"] for d, rs in evidence.items() if rs},
                )
            )
        except (KeyError, TypeError, AttributeError, ValidationError) as exc:
            raise InputError(f"{path} line {number}: not a SciFact claim ({exc})") from exc
    cited = [c for c in out if c.cited]
    if not cited:
        raise InputError(f"{path}: no claim cites an abstract (a test split has no gold)")
    return cited


@lru_cache(maxsize=2)
def load_abstracts(path: str) -> dict[str, tuple[str, list[str]]]:
    """SciFact corpus: doc id -> (title, abstract sentences)."""
    docs: dict[str, tuple[str, list[str]]] = {}
    for number, row in enumerate(_jsonl(Path(path)), start=1):
        try:
            docs[str(row["doc_id"])] = (str(row["title"]), [str(s) for s in row["abstract"]])
        except (KeyError, TypeError) as exc:
            raise InputError(f"{path} line {number}: not a SciFact document ({exc})") from exc
    return docs


def active_claims(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in report.get("claims", []) if c.get("dropped_in_round") is None]


def report_evidence(
    report: dict[str, Any], docs: dict[str, tuple[str, list[str]]]
) -> dict[str, set[int]]:
    """Per SciFact doc, the sentence indices the report's active claims rest on."""
    out: dict[str, set[int]] = {}
    for claim in active_claims(report):
        doc = docs.get(str(claim.get("paper_id")))
        if doc is None:
            continue
        found = locate(
            claim.get("evidence") or "",
            claim.get("evidence_start"),
            claim.get("evidence_end"),
            doc[1],
        )
        out.setdefault(str(claim["paper_id"]), set()).update(found)
    return out


def stance_label(verification: Any) -> str | None:
    """A verdict as a stance prediction (see the module docstring)."""
    if verification.stance is not None:
        return verification.stance if verification.stance in STANCE_LABELS else None
    if not verification.evidence_found:
        return None
    return "SUPPORT" if verification.verified else "CONTRADICT"


def report_stances(
    claim: str,
    evidence: dict[str, set[int]],
    docs: dict[str, tuple[str, list[str]]],
    verifier: Verifier,
) -> dict[str, str]:
    """The stance on ``claim`` of each paper the report kept evidence from (one verify call)."""
    papers = [d for d, idx in sorted(evidence.items()) if idx]
    sources = [
        f"{docs[d][0]}. " + " ".join(docs[d][1][i].strip() for i in sorted(evidence[d]))
        for d in papers
    ]
    verdicts = verifier.verify([claim] * len(papers), sources).verdicts if papers else []
    out = {}
    for paper, verdict in zip(papers, verdicts, strict=True):
        label = stance_label(verdict)
        if label is not None:
            out[paper] = label
    return out


def run_claim(task: dict[str, Any]) -> ClaimRun:
    """One claim: run the graph into its folder, read the report, score it (a worker's job)."""
    from sovereign_agents.context import Context
    from sovereign_agents.runner import run_research
    from sovereign_agents.verification.resolve import verifier_for

    gold = GoldClaim.model_validate(task["gold"])
    goal = goal_of(gold.claim)
    run_dir = Path(task["run_dir"])
    started = time.perf_counter()
    context = Context(corpus=task["corpus"], llm=task["llm"], cache_dir=task["cache"])
    try:
        result = run_research(goal, context, run_dir)
        if result.report_json is None:
            raise SovereignError("the run paused before its report")
        report = json.loads(result.report_json.read_text(encoding="utf-8"))
        docs = load_abstracts(task["scifact_corpus"])
        evidence = report_evidence(report, docs)
        stances = report_stances(gold.claim, evidence, docs, verifier_for(context))
    except Exception as exc:  # one failed run is scored as finding nothing, not a crash
        return ClaimRun(
            claim_id=gold.id,
            goal=goal,
            run_dir=str(run_dir),
            wall_s=round(time.perf_counter() - started, 2),
            gold_labels=dict(gold.labels),
            counts=score_claim(gold, [], set(), {}),
            error=f"{type(exc).__name__}: {exc}",
        )
    papers = [str(p["id"]) for p in report.get("papers", [])]
    pairs = {(d, i) for d, idx in evidence.items() for i in idx}
    return ClaimRun(
        claim_id=gold.id,
        goal=goal,
        run_dir=str(run_dir),
        wall_s=round(time.perf_counter() - started, 2),
        papers=papers,
        gold_found=sorted(set(gold.cited) & set(papers)),
        evidence=sorted(pairs),
        stances=stances,
        gold_labels=dict(gold.labels),
        counts=score_claim(gold, papers, pairs, stances),
        policy=report.get("policy"),
    )


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def warm_caches(corpus: Path, cache: str | None) -> None:
    """Build the corpus's BM25 index and LSA once, before the workers load them from disk."""
    from sovereign_agents.context import Context
    from sovereign_agents.embeddings import LSA_SAMPLE, corpus_lsa
    from sovereign_agents.search.local import open_index

    index, _ = open_index(corpus, cache)
    corpus_lsa(
        index.sha256,
        lambda: [p.text for p in index.sample(LSA_SAMPLE)],
        Context().models.lsa_dim,
        cache,
    )


def run_research_eval(
    claims: Path,
    corpus: Path,
    *,
    limit: int | None = None,
    llm: str | None = None,
    out_dir: Path | None = None,
    workers: int | None = None,
    cache: str | None = None,
    on_claim: Callable[[ClaimRun], None] | None = None,
) -> ResearchEval:
    """Run and score the first ``limit`` claims of ``claims`` (all when None)."""
    if limit is not None and limit < 1:
        raise InputError("--limit must be >= 1")
    if workers is not None and workers < 1:
        raise InputError("--workers must be >= 1")
    gold = load_gold(claims)[:limit]
    load_abstracts(str(corpus))  # fail early on a broken corpus
    converted = convert_scifact(corpus, cache)
    llm = llm or "extractive"
    from sovereign_agents.context import Context
    from sovereign_agents.engines import validate_specs

    validate_specs(Context(llm=llm))  # a bad model spec fails here, once
    started = time.perf_counter()
    warm_caches(converted, cache)
    workers = min(workers or default_workers(), len(gold))
    with tempfile.TemporaryDirectory(prefix="sovereign-research-") as scratch:
        runs_root = (out_dir / "runs") if out_dir is not None else Path(scratch)
        tasks = [
            {
                "gold": g.model_dump(),
                "run_dir": str(runs_root / f"claim-{g.id}"),
                "corpus": str(converted),
                "scifact_corpus": str(corpus),
                "llm": llm,
                "cache": cache,
            }
            for g in gold
        ]
        results = _map(run_claim, tasks, workers, on_claim)
    if out_dir is None:
        results = [r.model_copy(update={"run_dir": None}) for r in results]
    return ResearchEval(
        claims_file=str(claims),
        corpus_file=str(corpus),
        llm=llm,
        workers=workers,
        metrics=research_metrics([r.counts for r in results]),
        wall_s=round(time.perf_counter() - started, 2),
        runs=results,
    )


def _map(
    fn: Callable[[dict[str, Any]], ClaimRun],
    tasks: Sequence[dict[str, Any]],
    workers: int,
    on_claim: Callable[[ClaimRun], None] | None,
) -> list[ClaimRun]:
    """``fn`` over ``tasks`` in ``workers`` processes (in this one when 1), in task order."""
    results: list[ClaimRun] = []
    if workers <= 1:
        for task in tasks:
            results.append(fn(task))
            if on_claim:
                on_claim(results[-1])
        return results
    # spawn: a fresh interpreter per worker, never a fork of a process holding threads
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        for result in pool.map(fn, tasks):
            results.append(result)
            if on_claim:
                on_claim(result)
    return results


def markdown_table(evaluation: ResearchEval) -> str:
    m = evaluation.metrics
    lines = [
        f"SciFact research eval: {m.goals} goals, llm {evaluation.llm}, "
        f"{evaluation.workers} workers, {evaluation.wall_s:.1f} s",
        "",
        "| measure | precision | recall | F1 |",
        "| --- | ---: | ---: | ---: |",
        f"| retrieval (cited abstracts among the run's papers) | | {m.retrieval_recall:.4f} | |",
        f"| evidence sentences | {m.evidence.precision:.4f} | {m.evidence.recall:.4f} | "
        f"{m.evidence.f1:.4f} |",
        f"| label-only (abstract + SUPPORT/CONTRADICT) | {m.label_only.precision:.4f} | "
        f"{m.label_only.recall:.4f} | {m.label_only.f1:.4f} |",
    ]
    return "\n".join(lines)


def claims_table(evaluation: ResearchEval) -> str:
    lines = [
        "| claim | papers | gold found | evidence tp/fp/fn | stances (gold) | policy | s |",
        "| ---: | ---: | --- | --- | --- | --- | ---: |",
    ]
    for r in evaluation.runs:
        c = r.counts
        stances = ", ".join(
            f"{d}:{s}" + (f" ({r.gold_labels[d]})" if d in r.gold_labels else "")
            for d, s in sorted(r.stances.items())
        )
        found = f"{c.cited_found}/{c.cited}"
        lines.append(
            f"| {r.claim_id} | {len(r.papers)} | {found} | {c.evidence_tp}/{c.evidence_fp}/"
            f"{c.evidence_fn} | {stances or '-'} | {r.error or r.policy or ''} | {r.wall_s} |"
        )
    return "\n".join(lines)


def write_outputs(evaluation: ResearchEval, out_dir: Path) -> list[Path]:
    """``research.json`` (summary + every claim), ``research_claims.jsonl`` and
    ``research.md`` (the metrics and the per-claim table)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = out_dir / "research.json"
    summary.write_text(
        json.dumps(
            {"summary": evaluation.summary(), **evaluation.model_dump(mode="json")}, indent=1
        )
        + "\n"
    )
    rows = out_dir / "research_claims.jsonl"
    rows.write_text("".join(r.model_dump_json() + "\n" for r in evaluation.runs))
    table = out_dir / "research.md"
    table.write_text(markdown_table(evaluation) + "\n\n" + claims_table(evaluation) + "\n")
    return [summary, rows, table]
