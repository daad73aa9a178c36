"""The claim negator that writes stance training pairs (``verification.negate``)."""

from __future__ import annotations

import pytest

from sovereign_agents.verification.negate import opposite


@pytest.mark.parametrize(
    ("claim", "expected"),
    [
        # a direction word swapped for its antonym, inflection and case kept
        ("Exercise increases cancer mortality.", "Exercise decreases cancer mortality."),
        ("Aspirin inhibited tumour growth.", "Aspirin activated tumour growth."),
        ("Higher doses were used.", "Lower doses were used."),
        ("Reducing salt lowers blood pressure.", "Increasing salt lowers blood pressure."),
        # a negation removed
        ("Klf4 is not required for myeloid cells.", "Klf4 is required for myeloid cells."),
        ("Vitamin D does not reduce fracture risk.", "Vitamin D reduces fracture risk."),
        ("Mice lacking X cannot form plaques.", "Mice lacking X can form plaques."),
        ("The program shows no significant impact.", "The program shows a significant impact."),
        # a negation inserted after the first auxiliary, or before a known verb
        ("Migraine is associated with stroke.", "Migraine is not associated with stroke."),
        ("GATA3 regulates self-renewal.", "GATA3 does not regulate self-renewal."),
        ("Smoking causes cancer.", "Smoking does not cause cancer."),
        ("Cells can divide.", "Cells cannot divide."),
    ],
)
def test_opposite_reverses_the_claim(claim: str, expected: str) -> None:
    assert opposite(claim) == expected


def test_opposite_leaves_out_what_it_cannot_reverse() -> None:
    # no auxiliary, no known verb, no direction word: left out rather than mangled
    assert opposite("Microcin J25 encourages nucleoside triphosphate binding.") is None
    # a negation that opens the sentence would only be doubled
    assert opposite("No association was found.") is None
    # "associated" naming a thing is not swapped to "unassociated"; the comparison is
    assert (
        opposite("mRNAs associated with X are more stable.")
        == "mRNAs associated with X are less stable."
    )
    # adjectives are never inflected like verbs ("lowered" has no "highered")
    assert opposite("Lowered levels were seen.") == "Lowered levels were not seen."


def test_opposite_is_an_involution_on_clean_negations() -> None:
    for claim in ("X is required for Y.", "X increases Y.", "X does not cause Y."):
        back = opposite(opposite(claim) or "")
        assert back == claim


def test_the_stance_model_scores_a_negated_support_pair_contradict() -> None:
    """What the augmentation teaches stance_v4: a supported claim, negated, against the same
    evidence is CONTRADICT, the original SUPPORT; a direction swap and an inserted "not"
    alike (stance_v2 and v3 call the inserted-"not" claim SUPPORT)."""
    from sovereign_agents.verification.hybrid import HybridVerifier
    from sovereign_agents.verification.stance_model import load_stance_model

    source = (
        "Statins and heart attacks in older adults. We followed 4,000 patients for five years. "
        "Statin therapy reduced the risk of myocardial infarction by 30 percent compared with "
        "placebo."
    )
    claims = [
        "Statin therapy reduces the risk of myocardial infarction.",
        "Patients were followed for five years.",
    ]
    negated = [opposite(c) for c in claims]
    assert negated == [
        "Statin therapy increases the risk of myocardial infarction.",
        "Patients were not followed for five years.",
    ]
    verifier = HybridVerifier(stance=load_stance_model("stance_v4.json"))
    verdicts = verifier.verify([*claims, *(str(n) for n in negated)], [source] * 4).verdicts
    assert [v.stance for v in verdicts] == ["SUPPORT"] * 2 + ["CONTRADICT"] * 2
    assert [v.verified for v in verdicts] == [True, True, False, False]


def test_stance_v5_reads_each_claim_and_its_opposite() -> None:
    """stance_v5's probabilities are its own mixed with its opposite's, SUPPORT and CONTRADICT
    swapped (``with_opposite``); a claim with no clean opposite keeps its own."""
    import numpy as np

    from sovereign_agents.verification.hybrid import pair_features, stance_proba, stance_rows
    from sovereign_agents.verification.stance_model import load_stance_model, with_opposite

    model = load_stance_model("stance_v5.json")
    weight = model.opposite_weight
    assert 0 < weight < 1
    source = (
        "Statins and heart attacks in older adults. Statin therapy reduced the risk of "
        "myocardial infarction by 30 percent compared with placebo."
    )
    claims = [
        "Statin therapy reduces the risk of myocardial infarction.",
        "No statin was given to the placebo group.",  # no clean opposite
    ]
    assert opposite(claims[1]) is None
    turned = str(opposite(claims[0]))
    own = model.model.proba(stance_rows(model, claims, pair_features(claims, [source] * 2)))
    reversed_ = model.model.proba(stance_rows(model, [turned], pair_features([turned], [source])))
    mixed = stance_proba(model, claims, [source] * 2, pair_features(claims, [source] * 2))
    expected = (1 - weight) * own[0] + weight * reversed_[0][[1, 0, 2]]
    assert np.allclose(mixed[0], expected) and np.allclose(mixed[1], own[1])
    assert np.allclose(mixed.sum(axis=1), 1.0)
    # the opposite reads CONTRADICT where the claim reads SUPPORT, so mixing it in agrees
    assert reversed_[0][1] > reversed_[0][0] and mixed[0][0] > mixed[0][1]
    # the mixing itself: weight 0 is the model alone
    assert np.array_equal(with_opposite(own, reversed_[:1], [0], 0.0), own)
