"""Approval you can trust, measured: is AUTO_APPROVE given only to reports whose goal the
corpus answers?

Two labelled sets, each a list of goals that the corpus can or cannot answer:

* **SciFact** (train claims): a claim with rationale sentences, asked as "Is it true that
  <claim>?", is answerable when its cited abstracts are in the corpus; the same kind of claim
  becomes unanswerable when its cited abstracts are withheld. Claims are taken in a fixed
  order, alternately answerable and withheld; the corpus is SciFact's less the withheld claims'
  cited abstracts, converted once to arXiv JSON Lines. SciFact's citations are not exhaustive:
  another abstract in the corpus may answer a withheld claim. Such claims, read and recorded
  with the sentence that answers them in ``data/approval_scifact_adjudicated.jsonl``, are
  labelled answerable (when that abstract is in the corpus); the metrics are reported with
  these adjudicated labels and, beside them, with the labels as constructed.
* **arXiv goals** (``data/approval_arxiv_goals.jsonl``): hand-labelled research goals over
  the daily listing, each answerable one with the ids of the papers that answer it.

Every goal is one full offline run (``runner.run_research``); the policy it ends with is
scored: AUTO_APPROVE precision (approved goals that are answerable), the share of
unanswerable goals auto-approved, and the share of answerable goals rejected outright.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sovereign_agents.cache import cache_dir
from sovereign_agents.corpus import file_sha256
from sovereign_agents.errors import InputError

ARXIV_GOALS = Path(__file__).resolve().parent / "data" / "approval_arxiv_goals.jsonl"
ADJUDICATED = Path(__file__).resolve().parent / "data" / "approval_scifact_adjudicated.jsonl"
AS_CONSTRUCTED = " (labels as constructed)"


class LabelledGoal(BaseModel):
    set: str
    goal: str
    answerable: bool
    corpus: str
    papers: list[str] = []
    constructed_answerable: bool | None = None  # the label before adjudication, if it changed


class Adjudication(BaseModel):
    """A withheld SciFact claim that another abstract of the corpus answers, by reading."""

    claim_id: int
    claim: str
    answered_by: list[str]
    evidence: str
    stance: str  # SUPPORT or CONTRADICT, as the evidence sentence reads


class GoalOutcome(BaseModel):
    set: str
    goal: str
    answerable: bool
    constructed_answerable: bool | None = None
    policy: str
    verdict: str
    score: float
    reason: str
    relevant_verified: int
    seconds: float
    out_dir: str | None = None


class SetMetrics(BaseModel):
    goals: int
    answerable: int
    unanswerable: int
    auto_approved: int
    auto_approve_precision: float | None
    unanswerable_auto_approved_rate: float | None
    answerable_rejected_rate: float | None
    answerable_policies: dict[str, int]
    unanswerable_policies: dict[str, int]


class ApprovalReport(BaseModel):
    sets: dict[str, SetMetrics]
    overall: SetMetrics
    outcomes: list[GoalOutcome]
    wall_s: float


def scifact_goal(claim: str) -> str:
    return f"Is it true that {claim.rstrip('. ')}?"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        return [
            json.loads(line)
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc


def adjudications(path: Path = ADJUDICATED) -> dict[int, Adjudication]:
    return {a.claim_id: a for a in (Adjudication.model_validate(r) for r in _jsonl(path))}


def scifact_goals(
    claims_path: Path,
    corpus_path: Path,
    limit: int,
    cache: str | None = None,
    adjudicated: dict[int, Adjudication] | None = None,
) -> list[LabelledGoal]:
    """``limit`` claims with evidence, alternately answerable and withheld, and the corpus
    (SciFact less the withheld claims' cited abstracts) they all run on. A withheld claim
    that ``adjudicated`` (default: the shipped file) says another abstract answers is
    answerable when that abstract stays in the corpus."""
    adjudicated = adjudications() if adjudicated is None else adjudicated
    claims = [c for c in _jsonl(claims_path) if c.get("evidence")]
    # a fixed, spread-out order: by a hash of the claim id, not the file's topical order
    claims.sort(key=lambda c: hashlib.sha256(f"approval-{c['id']}".encode()).hexdigest())
    answerable: list[dict[str, Any]] = []
    withheld: list[dict[str, Any]] = []
    withheld_docs: set[int] = set()
    for claim in claims:
        if len(answerable) + len(withheld) >= limit:
            break
        cited = set(claim.get("cited_doc_ids", []))
        if len(withheld) < len(answerable):
            if not cited & {d for a in answerable for d in a["cited_doc_ids"]}:
                withheld.append(claim)
                withheld_docs |= cited
        elif not cited & withheld_docs:
            answerable.append(claim)
    corpus = _withheld_corpus(corpus_path, withheld_docs, cache)
    goals = [
        LabelledGoal(set="scifact", goal=scifact_goal(c["claim"]), answerable=True,
                     corpus=str(corpus), papers=[str(d) for d in c["cited_doc_ids"]])
        for c in answerable
    ]  # fmt: skip
    for c in withheld:
        found = adjudicated.get(int(c["id"]))
        kept = [d for d in found.answered_by if int(d) not in withheld_docs] if found else []
        goals.append(
            LabelledGoal(
                set="scifact",
                goal=scifact_goal(c["claim"]),
                answerable=bool(kept),
                corpus=str(corpus),
                papers=kept,
                constructed_answerable=False if kept else None,
            )
        )
    return goals


def _withheld_corpus(source: Path, withheld: set[int], cache: str | None) -> Path:
    """SciFact's corpus less ``withheld`` as arXiv JSON Lines, written once per selection."""
    if not source.is_file():
        raise InputError(f"SciFact corpus not found: {source}")
    key = hashlib.sha256(
        (file_sha256(source) + ",".join(map(str, sorted(withheld)))).encode()
    ).hexdigest()[:16]
    target = cache_dir(cache) / f"scifact-approval-{key}.jsonl"
    if target.is_file():
        return target
    tmp = target.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as dst:
        for row in _jsonl(source):
            if int(row["doc_id"]) in withheld:
                continue
            record = {
                "id": str(row["doc_id"]),
                "title": row["title"],
                "abstract": " ".join(row["abstract"]),
            }
            dst.write(json.dumps(record, ensure_ascii=False) + "\n")
    tmp.replace(target)
    return target


def arxiv_goals(path: Path, corpus: Path) -> list[LabelledGoal]:
    if not corpus.is_file():
        raise InputError(f"arXiv corpus not found: {corpus}")
    return [
        LabelledGoal(set="arxiv", goal=r["goal"], answerable=bool(r["answerable"]),
                     corpus=str(corpus), papers=list(r.get("papers", [])))
        for r in _jsonl(path)
    ]  # fmt: skip


def run_goal(goal: LabelledGoal, out_dir: str, cache: str | None) -> GoalOutcome:
    """One offline run of a labelled goal (in a worker process)."""
    from sovereign_agents.context import Context
    from sovereign_agents.runner import run_research

    started = time.perf_counter()
    result = run_research(
        goal.goal, Context(corpus=goal.corpus, llm="extractive", cache_dir=cache), out_dir
    )
    report: dict[str, Any] = json.loads(Path(str(result.report_json)).read_text())
    return GoalOutcome(
        set=goal.set,
        goal=goal.goal,
        answerable=goal.answerable,
        constructed_answerable=goal.constructed_answerable,
        policy=report["policy"],
        verdict=report["verdict"],
        score=report["tribunal"]["score"],
        reason=report["policy_reason"],
        relevant_verified=len(report["signals"].get("relevant_verified_ids", [])),
        seconds=round(time.perf_counter() - started, 2),
        out_dir=out_dir,
    )


def as_constructed(outcome: GoalOutcome) -> GoalOutcome:
    if outcome.constructed_answerable is None:
        return outcome
    return outcome.model_copy(update={"answerable": outcome.constructed_answerable})


def metrics(outcomes: Sequence[GoalOutcome]) -> SetMetrics:
    answerable = [o for o in outcomes if o.answerable]
    unanswerable = [o for o in outcomes if not o.answerable]
    approved = [o for o in outcomes if o.policy == "AUTO_APPROVE"]

    def rate(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    def tally(items: Sequence[GoalOutcome]) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in items:
            out[o.policy] = out.get(o.policy, 0) + 1
        return out

    return SetMetrics(
        goals=len(outcomes),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        auto_approved=len(approved),
        auto_approve_precision=rate(sum(o.answerable for o in approved), len(approved)),
        unanswerable_auto_approved_rate=rate(
            sum(o.policy == "AUTO_APPROVE" for o in unanswerable), len(unanswerable)
        ),
        answerable_rejected_rate=rate(
            sum(o.policy == "REJECT" for o in answerable), len(answerable)
        ),
        answerable_policies=tally(answerable),
        unanswerable_policies=tally(unanswerable),
    )


def set_metrics(outcomes: Sequence[GoalOutcome]) -> dict[str, SetMetrics]:
    """Metrics per set; a set with adjudicated labels also gets its metrics with the labels
    as constructed (``<set> (labels as constructed)``)."""
    names = sorted({o.set for o in outcomes})
    sets = {name: metrics([o for o in outcomes if o.set == name]) for name in names}
    for name in names:
        mine = [o for o in outcomes if o.set == name]
        if any(o.constructed_answerable is not None for o in mine):
            sets[name + AS_CONSTRUCTED] = metrics([as_constructed(o) for o in mine])
    return sets


def run_approval_eval(
    goals: Sequence[LabelledGoal], out: Path, *, workers: int = 2, cache: str | None = None
) -> ApprovalReport:
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    dirs = [str(out / "runs" / f"{g.set}-{i:03d}") for i, g in enumerate(goals)]
    if workers <= 1:
        outcomes = [run_goal(g, d, cache) for g, d in zip(goals, dirs, strict=True)]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            outcomes = list(pool.map(run_goal, goals, dirs, [cache] * len(goals)))
    sets = set_metrics(outcomes)
    return ApprovalReport(
        sets=sets,
        overall=metrics(outcomes),
        outcomes=outcomes,
        wall_s=round(time.perf_counter() - started, 1),
    )


def markdown_table(report: ApprovalReport) -> str:
    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value:.0%}"

    lines = [
        "| set | goals (answerable / not) | auto-approved | AUTO_APPROVE precision | "
        "unanswerable auto-approved | answerable rejected |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    rows = [(k, m) for k, m in report.sets.items() if not k.endswith(AS_CONSTRUCTED)]
    rows += [("all", report.overall)]
    rows += [(k, m) for k, m in report.sets.items() if k.endswith(AS_CONSTRUCTED)]
    for name, m in rows:
        lines.append(
            f"| {name} | {m.goals} ({m.answerable} / {m.unanswerable}) | {m.auto_approved} | "
            f"{pct(m.auto_approve_precision)} | {pct(m.unanswerable_auto_approved_rate)} | "
            f"{pct(m.answerable_rejected_rate)} |"
        )
    wrong = [o for o in report.outcomes if o.policy == "AUTO_APPROVE" and not o.answerable]
    if wrong:
        lines += ["", "Auto-approved although labelled unanswerable (read each report: if another "
                  "abstract answers the goal, record it in the adjudication file):"]  # fmt: skip
        lines += [f"- {o.goal} ({o.out_dir})" for o in wrong]
    return "\n".join(lines)
