"""The hybrid verifier, its stance cues, the judge, and opposing-claim flags."""

from __future__ import annotations

import json
from pathlib import Path

from sovereign_agents import Context
from sovereign_agents.engines.chat import ChatEngine
from sovereign_agents.models.structured import CallPolicy
from sovereign_agents.schemas import Claim
from sovereign_agents.testing import fake_chat_model
from sovereign_agents.verification.cues import (
    direction_conflict,
    is_negated,
    number_mismatch,
    numbers,
    opposing_claims,
)
from sovereign_agents.verification.hybrid import HybridVerifier, load_params
from sovereign_agents.verification.judged import JudgedVerifier
from sovereign_agents.verification.resolve import build_verifier
from sovereign_agents.verification.stance_model import load_stance_model
from sovereign_agents.verification.tfidf import TfidfVerifier

SOURCE = (
    "Statins and muscle pain in older adults. We followed 4,000 patients for five years. "
    "Statin therapy reduced the risk of myocardial infarction by 30 percent. "
    "Muscle pain was reported by 12 percent of patients in both groups."
)


def test_stance_cues() -> None:
    assert is_negated("Statins do not reduce risk.") and not is_negated("Statins reduce risk.")
    assert direction_conflict("X increases Y", "X decreased Y")
    assert not direction_conflict("X increases Y", "X raised Y")
    assert numbers("rates of 2.50 and 1,5 and 30%") == {"2.5", "1.5", "30"}
    assert number_mismatch("30 percent", "12 percent") and not number_mismatch("30 vs 12", "12")


def test_hybrid_finds_the_evidence_sentence_and_penalises_negation() -> None:
    verifier = HybridVerifier()
    claims = [
        "Statin therapy reduces the risk of myocardial infarction.",
        "Statin therapy does not reduce the risk of myocardial infarction.",
        "Graph neural networks learn molecular fingerprints.",
    ]
    verdicts = verifier.verify(claims, [SOURCE] * 3).verdicts
    assert verdicts[0].evidence and "myocardial infarction by 30 percent" in verdicts[0].evidence
    assert verdicts[0].evidence_found and verdicts[0].verified
    assert verdicts[1].confidence < verdicts[0].confidence  # the negation costs support
    assert not verdicts[2].verified and not verdicts[2].evidence_found
    for v in verdicts:
        assert v.verified == (v.confidence >= verifier.threshold)
        # offline the stance model judges: verified exactly when the stance is SUPPORT
        assert v.stance_by == load_stance_model().name
        assert v.verified == (v.stance == "SUPPORT")
        assert 0 <= v.signals["p_evidence"] <= 1
    assert verdicts[1].stance != "SUPPORT"  # the negated claim is not called supported
    assert verdicts[2].stance == "NOT_ENOUGH_INFO"  # no evidence found: nothing contradicts it
    assert verifier.verify([], []).verdicts == []


def test_the_two_stage_hybrid_without_a_stance_model() -> None:
    verifier = HybridVerifier(stance=None)
    (v,) = verifier.verify(
        ["Statin therapy reduces the risk of myocardial infarction."], [SOURCE]
    ).verdicts
    assert v.stance is None and v.stance_by is None and v.verified
    assert verifier.threshold == load_params().threshold


def test_a_sentence_supports_itself() -> None:
    from sovereign_agents.text import split_sentences

    sentences = [s.text for s in split_sentences(SOURCE)][1:]
    verdicts = HybridVerifier().verify(sentences, [SOURCE] * len(sentences)).verdicts
    assert all(v.stance == "SUPPORT" and v.verified for v in verdicts)


def test_a_threshold_override_moves_stance_and_verdict_together() -> None:
    claims = [
        "Statin therapy reduces the risk of myocardial infarction.",
        "Statin therapy does not reduce the risk of myocardial infarction.",
        "Muscle pain was reported by 12 percent of patients.",
    ]
    for threshold in (0.0, 0.3, 0.6, 0.9, 1.0):
        verifier = HybridVerifier(threshold_override=threshold)
        for v in verifier.verify(claims, [SOURCE] * 3).verdicts:
            assert v.verified == (v.confidence >= threshold) == (v.stance == "SUPPORT")


def test_stance_model_params_are_data_with_provenance(data_dir: Path) -> None:
    from sovereign_agents.evals.scifact import sha256_of
    from sovereign_agents.verification.alignment import ALIGNMENT_FEATURES
    from sovereign_agents.verification.stance_model import (
        LABELS,
        STANCE_FEATURES,
        StanceModel,
        load_stance_model,
    )

    # stance_v2 stays the default (stance_v3 did not improve both held-out numbers, README);
    # every shipped version loads by name, as data with its provenance
    assert load_stance_model().name == "stance_v2"
    params = Path(__file__).parents[1] / "sovereign_agents/verifier_params"
    claims_sha = sha256_of(data_dir / "scifact" / "claims_train.jsonl")
    for version in ("stance_v1", "stance_v2", "stance_v3", "stance_v4", "stance_v5"):
        model = load_stance_model(f"{version}.json")
        raw = json.loads((params / f"{version}.json").read_text())
        assert model.name == version and raw["version"] == version
        assert StanceModel.from_dict(raw).to_dict() == raw  # JSON round trip, no pickle
        assert raw["labels"] == list(LABELS)
        assert len(model.model.features) == len(model.model.mean) == model.model.coef.shape[1]
        assert model.model.coef.shape[0] == 3 and set(STANCE_FEATURES) <= set(model.model.features)
        # stance_v3 on read the alignment cues
        assert model.aligned == (version in ("stance_v3", "stance_v4", "stance_v5"))
        # stance_v5 on also read each claim's opposite
        assert (model.opposite_weight > 0) == (version == "stance_v5")
        assert model.aligned == (set(ALIGNMENT_FEATURES) <= set(model.model.features))
        prov = model.provenance
        assert prov["data"]["claims_sha256"] == claims_sha
        assert prov["data"]["claims"] == "claims_train.jsonl"  # never dev
        held = prov["metrics"]["held_out"]
        assert held["pairs"] == 301 and 0 < held["accuracy"] < 1
        assert model.held_out_accuracy == held["accuracy"]
        assert "fit_stance" in prov["script"]
    v3 = load_stance_model("stance_v3.json").provenance["fit"]
    assert v3["cv_repeats"] == 3 and "0.604 (shipped)" in v3["features_chosen"]
    # stance_v4: the negated pairs and the claim-family folds are recorded
    v4 = load_stance_model("stance_v4.json").provenance["fit"]
    assert v4["negated_pairs"] > 200 and "claim families" in v4["cv_groups"]
    # stance_v5: the opposite's weight was chosen by the cross-validation beside C
    v5 = load_stance_model("stance_v5.json").provenance["fit"]
    assert v5["opposite_weight"] == load_stance_model("stance_v5.json").opposite_weight
    assert {s["opposite_weight"] for s in v5["cv"]} >= {0.0, v5["opposite_weight"]}


def test_every_stance_model_verifies_with_its_own_features() -> None:
    """stance_v2 reads its cues on the hybrid's evidence, stance_v3 on the alignment context:
    each gets rows of its own width, and verified == SUPPORT under either."""
    from sovereign_agents.verification.hybrid import HybridVerifier
    from sovereign_agents.verification.stance_model import load_stance_model

    claims = ["Statins lower the risk of myocardial infarction.", "Statins raise muscle pain."]
    for version in ("stance_v2", "stance_v3", "stance_v4", "stance_v5"):
        verifier = HybridVerifier(stance=load_stance_model(f"{version}.json"))
        verdicts = verifier.verify(claims, [SOURCE] * 2).verdicts
        assert [v.stance_by for v in verdicts] == [version, version]
        assert all(v.verified == (v.stance == "SUPPORT") for v in verdicts)
        assert verifier.record().stance.startswith(f"stance model {version} (held-out 3-way")


def test_alignment_cues_read_the_shared_terms() -> None:
    from sovereign_agents.verification.alignment import (
        ALIGNMENT_FEATURES,
        alignment_features,
        null_result,
    )

    def cues(claim: str, evidence: str) -> dict[str, float]:
        return dict(zip(ALIGNMENT_FEATURES, alignment_features(claim, evidence), strict=True))

    # "risk" goes up in the claim and down in the evidence: a conflict on an aligned term
    opposed = cues(
        "Consumption of whole fruits increases the risk of type 2 diabetes.",
        "Whole fruits are associated with a lower risk of type 2 diabetes.",
    )
    assert opposed["aligned_conflict"] > 0 and opposed["aligned_conflict_majority"] == 1
    # with "greater consumption" the evidence agrees on one term and opposes on others
    mixed = cues(
        "Consumption of whole fruits increases the risk of type 2 diabetes.",
        "Greater consumption of whole fruits is associated with a lower risk of type 2 diabetes.",
    )
    assert mixed["aligned_agree"] > 0 and mixed["aligned_conflict"] > 0
    assert mixed["aligned_conflict_majority"] == mixed["aligned_agree_majority"] == 0
    agreeing = cues("Statins lower LDL cholesterol.", "Statin therapy lowered LDL cholesterol.")
    assert agreeing["aligned_agree"] > 0 and agreeing["aligned_conflict"] == 0
    # a negation next to the shared term flips its direction
    negated = cues("X increases Y levels.", "X did not increase Y levels.")
    assert negated["aligned_conflict"] > 0 and negated["aligned_negation_mismatch"] > 0
    assert null_result("There was no significant difference in mortality.")
    assert null_result("Use of ADHD medications was not associated with an increased risk.")
    assert not null_result("Mortality fell by 30% in the treated arm.")
    nulls = cues("X reduces mortality.", "X had no effect on mortality.")
    assert nulls["null_result_mismatch"] == 1 and nulls["evidence_null_result"] == 1
    numbers = cues("Mortality fell by 30% in 2010.", "Mortality fell by 12% in 2010.")
    assert numbers["claim_numbers_unmatched"] > 0
    assert cues("", "") == cues("", "") and len(cues("", "")) == len(ALIGNMENT_FEATURES)


def test_alignment_context_leaves_the_title_out() -> None:
    from sovereign_agents.verification.hybrid import pair_features
    from sovereign_agents.verification.stance_model import alignment_context

    title = "Statins and cholesterol"
    source = (
        f"{title}. We enrolled 40 adults. Statins lowered LDL cholesterol by 30%. "
        "Side effects were rare. Follow-up lasted a year."
    )
    (scored,) = pair_features(["Statins lower LDL cholesterol."], [source])
    context = alignment_context(scored.evidence, scored.body)
    assert title not in context and "Statins lowered LDL cholesterol by 30%." in context
    assert len(context.split(" … ")) == 3  # the three best sentences after the title
    # a one-sentence source has no body: the hybrid's evidence is read instead
    (single,) = pair_features(["Statins lower LDL."], ["Statins lowered LDL."])
    assert single.body == [] and alignment_context(single.evidence, single.body) == (
        "Statins lowered LDL."
    )


def test_stance_cues_of_a_pair() -> None:
    from sovereign_agents.verification.stance_model import STANCE_FEATURES, stance_features

    def cues(claim: str, evidence: str) -> dict[str, float]:
        return dict(zip(STANCE_FEATURES, stance_features(claim, evidence), strict=True))

    swapped = cues("X increases the risk of Y.", "X decreased the risk of Y in 30 patients.")
    assert swapped["antonym_swaps"] >= 1 and swapped["direction_agreement"] == -1
    negated = cues("X does not reduce Y.", "X reduced Y.")
    assert negated["negation_parity_mismatch"] == 1 and negated["polarity_agreement"] == -1
    same = cues("X reduced Y by 30%.", "X reduced Y by 30%.")
    assert same["antonym_swaps"] == 0 and same["claim_coverage"] == 1
    assert same["numbers_agree"] == 1 and same["numbers_disagree"] == 0
    assert cues("X may cause Y.", "X causes Y.")["claim_hedges"] == 1


def test_shipped_params_carry_provenance(data_dir: Path) -> None:
    from sovereign_agents.evals.scifact import sha256_of

    params = load_params()
    prov = params.provenance
    assert prov["data"]["claims_sha256"] == sha256_of(data_dir / "scifact" / "claims_train.jsonl")
    assert prov["data"]["corpus_sha256"] == sha256_of(data_dir / "scifact" / "corpus.jsonl")
    assert {"held_out", "fit", "all_train"} <= set(prov["metrics"])
    assert 0 < params.threshold < 1 and 0 < params.evidence_threshold < 1
    assert "fit_hybrid" in prov["script"]


def test_context_picks_the_verifier() -> None:
    assert isinstance(build_verifier(Context()), HybridVerifier)  # the default, offline
    tfidf = build_verifier(Context(verifier="tfidf"))
    assert isinstance(tfidf, TfidfVerifier) and tfidf.threshold == 0.15  # the reference
    assert build_verifier(Context(verify_threshold=0.7)).threshold == 0.7
    judged = build_verifier(Context(llm=fake_chat_model(["{}"])))
    assert isinstance(judged, JudgedVerifier)
    assert isinstance(
        build_verifier(Context(llm=fake_chat_model([]), stance_judge=False)), HybridVerifier
    )


def _judged(replies: list[str]) -> JudgedVerifier:
    policy = CallPolicy(first_mode="prompt", output_retries=0)
    judge = ChatEngine(fake_chat_model(replies), Context(max_concurrency=1), "judge", policy)
    return JudgedVerifier(HybridVerifier(), judge)


def test_judge_contradiction_unverifies_and_support_keeps() -> None:
    claim = "Statin therapy reduces the risk of myocardial infarction."
    verifier = _judged([json.dumps({"label": "CONTRADICT", "quote": "reduced the risk"})])
    result = verifier.verify([claim], [SOURCE])
    (v,) = result.verdicts
    assert v.stance == "CONTRADICT" and v.stance_quote == "reduced the risk"
    assert v.stance_by and v.stance_by.startswith("judge ")
    assert not v.verified and v.verified == (v.confidence >= v.threshold)
    assert result.model_calls == 1 and not result.uncertainties
    judged = _judged([json.dumps({"label": "SUPPORT", "quote": "x"})])
    (v,) = judged.verify([claim], [SOURCE]).verdicts
    assert v.stance == "SUPPORT" and v.verified


def test_judge_failure_is_recorded_and_the_stance_model_verdict_stands() -> None:
    verifier = _judged(["this is not json"])
    result = verifier.verify(
        ["Statin therapy reduces the risk of myocardial infarction."], [SOURCE]
    )
    (v,) = result.verdicts
    assert v.stance == "SUPPORT" and v.stance_by == load_stance_model().name and v.verified
    notes = result.uncertainties
    assert notes and notes[0].kind == "fallback"
    assert "the stance model's verdict stands" in notes[0].message


def test_the_judge_decides_over_the_stance_model() -> None:
    claim = "Statin therapy does not reduce the risk of myocardial infarction."
    offline = HybridVerifier().verify([claim], [SOURCE]).verdicts[0]
    judged = _judged([json.dumps({"label": "SUPPORT", "quote": "x"})])
    (v,) = judged.verify([claim], [SOURCE]).verdicts
    assert offline.stance != "SUPPORT" and v.stance == "SUPPORT"
    assert v.stance_by and v.stance_by.startswith("judge ")


def _claim(cid: str, text: str, paper: str) -> Claim:
    return Claim(id=cid, text=text, paper_id=paper, evidence=text)


def test_opposing_claims_of_different_papers_are_flagged() -> None:
    claims = [
        _claim("C1", "Sparse experts increase inference throughput on GPUs.", "p1"),
        _claim("C2", "Sparse experts decrease inference throughput on GPUs.", "p2"),
        _claim("C3", "Sparse experts do not increase inference throughput on GPUs.", "p1"),
        _claim("C4", "Protein folding uses diffusion models.", "p3"),
    ]
    flagged = {(a.id, b.id): cues for a, b, cues in opposing_claims(claims)}
    assert flagged[("C1", "C2")] == ["direction"]
    assert "negation" in flagged[("C2", "C3")]
    assert ("C1", "C3") not in flagged  # same paper
    assert not any("C4" in pair for pair in flagged)
