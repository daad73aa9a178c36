"""Verification accuracy: metrics as pure functions, the SciFact pairs, the eval CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sovereign_agents.errors import InputError
from sovereign_agents.evals.scifact import load_pairs, split_pairs
from sovereign_agents.evals.verification_metrics import (
    expected_calibration_error,
    prf,
    reliability_bins,
    verification_metrics,
)


def test_prf_by_hand() -> None:
    m = prf([True, True, False, False, True], [True, False, True, False, True])
    assert (m.tp, m.fp, m.fn) == (2, 1, 1)
    assert m.precision == pytest.approx(2 / 3, abs=1e-4) and m.recall == pytest.approx(
        2 / 3, abs=1e-4
    )
    assert m.f1 == pytest.approx(2 / 3, abs=1e-4)
    empty = prf([False, False], [False, False])
    assert (empty.precision, empty.recall, empty.f1) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        prf([True], [])


def test_verification_metrics_on_three_labels() -> None:
    labels = ["SUPPORT", "SUPPORT", "CONTRADICT", "CONTRADICT", "NONE", "NONE"]
    evidence = [True, False, True, True, True, False]
    verified = [True, False, True, False, False, False]
    m = verification_metrics(labels, evidence, verified, [0.9, 0.2, 0.7, 0.1, 0.3, 0.0])
    assert m.pairs == 6
    assert (m.evidence.tp, m.evidence.fp, m.evidence.fn) == (3, 1, 1)
    assert (m.support.tp, m.support.fp, m.support.fn) == (1, 1, 1)
    assert m.contradicted_but_verified == 0.5
    summary = m.summary()
    assert set(summary) == {"pairs", "evidence", "support", "contradicted_but_verified"}
    assert set(summary["evidence"]) == {"precision", "recall", "f1"}  # type: ignore[arg-type]


def test_reliability_bins_and_ece() -> None:
    bins = reliability_bins([0.05, 0.05, 1.0, 0.95], [False, False, True, True], n_bins=10)
    assert [(b.lo, b.count) for b in bins] == [(0.0, 2), (0.9, 2)]  # empty bins left out
    assert bins[1].accuracy == 1.0 and bins[1].mean_confidence == pytest.approx(0.975)
    assert expected_calibration_error([0.05, 0.05, 1.0, 0.95], [False, False, True, True]) == (
        pytest.approx(0.05 * 2 / 4 + 0.025 * 2 / 4)
    )
    assert expected_calibration_error([], []) == 0.0


def _tiny_scifact(tmp: Path) -> tuple[Path, Path]:
    corpus = tmp / "corpus.jsonl"
    corpus.write_text(
        "\n".join(
            json.dumps({"doc_id": d, "title": f"T{d}", "abstract": ["A one.", "B two."]})
            for d in (1, 2, 3)
        )
    )
    claims = tmp / "claims.jsonl"
    rows = [
        {"id": 1, "claim": "c1", "evidence": {"1": [{"sentences": [1], "label": "SUPPORT"}]},
         "cited_doc_ids": [1, 2]},
        {"id": 2, "claim": "c2", "evidence": {"3": [{"sentences": [0], "label": "CONTRADICT"}]},
         "cited_doc_ids": [3]},
        {"id": 3, "claim": "c3", "evidence": {}, "cited_doc_ids": [2]},
    ]  # fmt: skip
    claims.write_text("\n".join(json.dumps(r) for r in rows))
    return claims, corpus


def test_pairs_and_gold_labels(tmp_path: Path) -> None:
    claims, corpus = _tiny_scifact(tmp_path)
    pairs = load_pairs(claims, corpus)
    assert [(p.claim_id, p.doc_id, p.label, p.evidence) for p in pairs] == [
        (1, 1, "SUPPORT", [1]),
        (1, 2, "NONE", []),
        (2, 3, "CONTRADICT", [0]),
        (3, 2, "NONE", []),
    ]
    assert pairs[0].source == "T1. A one. B two."
    fit, held = split_pairs(pairs)
    assert len(fit) + len(held) == 4
    # grouped by document: both pairs citing doc 2 land on the same side
    assert len({id(side) for p in pairs if p.doc_id == 2 for side in (fit, held) if p in side}) == 1


def test_bad_scifact_input_is_an_input_error(tmp_path: Path) -> None:
    claims, corpus = _tiny_scifact(tmp_path)
    claims.write_text(json.dumps({"id": 9, "claim": "x", "cited_doc_ids": [99]}))
    with pytest.raises(InputError, match="not in the corpus"):
        load_pairs(claims, corpus)
    claims.write_text(json.dumps({"id": 9, "claim": "x"}))
    with pytest.raises(InputError, match="no claim cites"):
        load_pairs(claims, corpus)
    with pytest.raises(InputError, match="cannot read"):
        load_pairs(tmp_path / "missing.jsonl", corpus)


def _cli(*args: str) -> tuple[int, str]:
    from sovereign_agents.cli import app

    result = CliRunner().invoke(app, ["eval", "verify", *args])
    return result.exit_code, result.output


@pytest.mark.slow
def test_eval_verify_cli_prints_json_and_writes_plot(data_dir: Path, tmp_path: Path) -> None:
    scifact = data_dir / "scifact"
    args = [
        "--claims",
        str(scifact / "claims_train.jsonl"),
        "--corpus",
        str(scifact / "corpus.jsonl"),
    ]
    code, output = _cli(*args, "--limit", "60", "--json", "--out", str(tmp_path))
    assert code == 0, output
    summary = json.loads(output.strip().splitlines()[-1])
    assert summary["pairs"] == 60
    assert set(summary["support"]) == {"precision", "recall", "f1"}
    assert 0 <= summary["contradicted_but_verified"] <= 1
    assert (tmp_path / "calibration.png").read_bytes()[:4] == b"\x89PNG"
    written = json.loads((tmp_path / "verify_metrics.json").read_text())
    assert written["verifier"] == "hybrid" and len(written["results"]) == 60
    code, output = _cli(*args, "--limit", "60", "--verifier", "tfidf", "--json")
    assert code == 0 and json.loads(output.strip().splitlines()[-1])["pairs"] == 60


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--verifier", "nope"], "unknown verifier"),
        (["--verifier", "judge"], "needs a chat model"),
        (["--split", "dev"], "--split"),
        (["--stance", "stance_v99"], "unknown stance model 'stance_v99': use one of stance_v1"),
        (["--stance", "stance_v2", "--verifier", "tfidf"], "use it with --verifier hybrid"),
    ],
)
def test_eval_verify_bad_input_exits_nonzero(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    claims, corpus = _tiny_scifact(tmp_path)
    code, output = _cli("--claims", str(claims), "--corpus", str(corpus), *extra)
    assert code == 2 and message in output


def test_eval_verify_scores_the_stance_model_named(data_dir: Path, tmp_path: Path) -> None:
    """--stance NAME runs the hybrid with that shipped stance model: every verdict is labelled
    by it, and the stance labels differ from the default model's on the same pairs."""
    scifact = data_dir / "scifact"
    args = ["--claims", str(scifact / "claims_train.jsonl"), "--corpus"]
    args += [str(scifact / "corpus.jsonl"), "--limit", "50", "--json"]
    stances = {}
    for name in ("stance_v1", "stance_v3"):
        code, output = _cli(*args, "--stance", name, "--out", str(tmp_path / name))
        assert code == 0, output
        written = json.loads((tmp_path / name / "verify_metrics.json").read_text())
        assert name in written["description"]
        stances[name] = [r["stance"] for r in written["results"]]
    assert stances["stance_v1"] != stances["stance_v3"]
