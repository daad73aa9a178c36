"""``sovereign batch`` without Ray: the goals file's rules, one clear line for a bad one, the
missing extra named, and a real batch run one goal after another -- batch.json kept up to
date, finished goals skipped on a second pass, a died run resumed from its checkpoints.

The Ray path (a worker killed mid-run) is in ``test_batch_ray.py``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sovereign_agents import Context, fanout
from sovereign_agents.batch import BATCH_JSON, GoalOutcome, read_goals, run_batch
from sovereign_agents.errors import InputError
from tests.kill_points import comparable, kill_states, rebuild
from tests.test_bad_input import clean_failure, sovereign

SPEC = (
    "How does speculative decoding speed up LLM inference, and what acceptance rates are reported?"
)
RAG = "Which techniques reduce hallucination in retrieval-augmented generation?"


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_goals_file_rules(tmp_path: Path) -> None:
    path = write(
        tmp_path / "goals.jsonl",
        json.dumps({"goal": SPEC}),
        "",  # blank lines are skipped
        json.dumps({"goal": RAG, "answerable": True, "note": "other keys are ignored"}),
        json.dumps({"goal": SPEC}),  # the same goal again: a run of its own
        json.dumps({"goal": SPEC, "paper": "2505.07858"}),
    )
    goals = read_goals(path)
    assert [g.line for g in goals] == [1, 3, 4, 5]
    ids = [g.run_id for g in goals]
    assert len(set(ids)) == 4 and all(len(i) == 12 for i in ids)
    assert goals[3].paper == "2505.07858"
    # the same goal keeps its run id (and folder) when the file is reordered: a second pass
    # over the batch folder finds its runs
    reordered = write(
        tmp_path / "reordered.jsonl",
        json.dumps({"goal": RAG}),
        json.dumps({"goal": SPEC, "paper": "2505.07858"}),
        json.dumps({"goal": SPEC}),
    )
    again = {g.goal + str(g.paper): g.run_id for g in read_goals(reordered)}
    assert again[RAG + "None"] == ids[1] and again[SPEC + "2505.07858"] == ids[3]
    assert again[SPEC + "None"] == ids[0]
    bom = tmp_path / "bom.jsonl"
    bom.write_text("\ufeff" + json.dumps({"goal": RAG}) + "\n", encoding="utf-8")
    assert read_goals(bom)[0].run_id == ids[1]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([json.dumps({"goal": SPEC}), "{not json"], "line 2: not JSON"),
        ([json.dumps(["a list"])], 'line 1: expected an object with a "goal" string'),
        ([json.dumps({"query": SPEC})], 'line 1: expected an object with a "goal" string'),
        ([json.dumps({"goal": 42})], 'line 1: expected an object with a "goal" string'),
        ([json.dumps({"goal": SPEC}), "", json.dumps({"goal": "What?"})], "line 3: the research"),
        ([json.dumps({"goal": "   "})], "line 1: the research goal is empty"),
        ([json.dumps({"goal": SPEC, "paper": 7})], 'line 1: "paper" must be'),
        (["", "  "], "holds no goal"),
        (["[" * 100_000], "line 1: not JSON"),
    ],
)
def test_a_bad_goals_file_is_one_line_before_anything_runs(
    tmp_path: Path, lines: list[str], expected: str
) -> None:
    goals = write(tmp_path / "goals.jsonl", *lines)
    with pytest.raises(InputError, match=expected.replace("(", r"\(").replace("[", r"\[")):
        read_goals(goals)
    out = tmp_path / "batch"
    line = clean_failure(sovereign("batch", str(goals), "--out", str(out), "--sequential"))
    assert expected in line and str(goals) in line
    assert not out.exists()  # nothing ran, nothing was written


def test_a_missing_goals_file_or_bad_options_are_one_line(tmp_path: Path) -> None:
    assert "cannot read goals file" in clean_failure(
        sovereign("batch", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "b"))
    )
    goals = write(tmp_path / "goals.jsonl", json.dumps({"goal": SPEC}))
    for args, expected in (
        (["--ray", "local", "--sequential"], "not both"),
        (["--sequential", "--workers", "2"], "--workers sizes a local Ray instance"),
        (["--sequential", "--retries", "-1"], "--retries >= 0"),
        (["--sequential", "--set", "max_papers=abc"], "max_papers"),
        (["--sequential", "--corpus", str(tmp_path / "missing.jsonl")], "corpus file not found"),
    ):
        line = clean_failure(sovereign("batch", str(goals), "--out", str(tmp_path / "b"), *args))
        assert expected in line, (args, line)


def test_ray_asked_for_without_ray_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fanout, "ray_installed", lambda: False)
    goals = write(tmp_path / "goals.jsonl", json.dumps({"goal": SPEC}))
    line = clean_failure(
        sovereign("batch", str(goals), "--out", str(tmp_path / "b"), "--ray", "local")
    )
    assert "pip install 'sovereign-agents[ray]'" in line
    line = clean_failure(
        sovereign(
            "eval", "sensitivity", "--run", str(tmp_path), "--variants", "skeptic@v1",
            "--out", str(tmp_path / "s"), "--ray", "local",
        )
    )  # fmt: skip
    assert "pip install 'sovereign-agents[ray]'" in line
    assert not (tmp_path / "b").exists() and not (tmp_path / "s").exists()


@pytest.mark.e2e
@pytest.mark.slow
def test_batch_without_ray_runs_in_process_keeps_batch_json_and_resumes(
    daily_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ray absent: the CLI says so and runs the goals here. A goal that fails (an unknown
    anchor paper) is recorded and the others run; a second pass skips what finished; a
    run folder left as a kill leaves it is resumed, to the same report."""
    monkeypatch.setattr(fanout, "ray_installed", lambda: False)
    goals = write(
        tmp_path / "goals.jsonl",
        json.dumps({"goal": SPEC}),
        json.dumps({"goal": RAG, "paper": "9999.99999"}),
        json.dumps({"goal": RAG}),
    )
    out = tmp_path / "batch"
    proc = sovereign("batch", str(goals), "--out", str(out), "--corpus", str(daily_corpus))
    assert proc.returncode == 1, proc.stderr  # one goal failed: the batch says so
    assert "Ray is not installed" in proc.stderr and "sovereign-agents[ray]" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.strip().splitlines()[-1].startswith("error: 1 of 3 goals failed")
    record = json.loads((out / BATCH_JSON).read_text())
    assert record["engine"] == "sequential" and record["counts"] == {"finished": 2, "failed": 1}
    runs = record["runs"]
    assert [r["line"] for r in runs] == [1, 2, 3]
    assert runs[1]["status"] == "failed" and "9999.99999" in runs[1]["error"]
    for run in (runs[0], runs[2]):
        folder = out / run["folder"]
        # the files `sovereign run` writes, and batch.json agrees with the report
        for name in ("report.md", "report.json", "report.html", "trace.jsonl", "run.json"):
            assert (folder / name).is_file(), name
        assert (folder / "checkpoints.sqlite").is_file()
        report = json.loads((folder / "report.json").read_text())
        assert report["run_id"] == run["run_id"] == run["folder"]
        assert (run["verdict"], run["policy"]) == (report["verdict"], report["policy"])
        assert run["score"] == report["tribunal"]["score"] and run["wall_s"] > 0
        assert run["resumed_from_step"] is None
    assert runs[0]["run_id"] == read_goals(goals)[0].run_id

    # a second pass: nothing runs again
    first = out / runs[0]["folder"]
    trace_before = (first / "trace.jsonl").read_text()
    offline = Context.preset("offline", corpus=str(daily_corpus.resolve()))  # the CLI's
    record = run_batch(goals, out, offline)
    assert [r.status for r in record.runs] == ["skipped", "failed", "skipped"]
    assert (first / "trace.jsonl").read_text() == trace_before

    # the first goal's folder as a kill mid-run leaves it: the next pass resumes it
    finished = tmp_path / "finished"
    shutil.copytree(first, finished)
    mid = next(s for s in kill_states(finished) if s.step >= 3)
    shutil.rmtree(first)
    rebuild(finished, mid, first)
    seen: list[dict[str, object]] = []

    def on_result(outcome: GoalOutcome) -> None:  # batch.json is written before the callback
        seen.append(json.loads((out / BATCH_JSON).read_text())["counts"])

    record = run_batch(goals, out, offline, on_result=on_result)
    resumed = record.runs[0]
    assert resumed.status == "finished" and resumed.resumed_from_step == mid.step
    assert seen[0] == {"finished": 1, "pending": 1, "skipped": 1}  # goal 2 still pending
    events = [json.loads(line) for line in (first / "trace.jsonl").read_text().splitlines()]
    marks = [e for e in events if e.get("event") == "resume"]
    assert len(marks) == 1 and marks[0]["step"] == mid.step
    assert comparable(first) == comparable(finished)
