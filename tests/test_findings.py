"""Offline claims are the findings abstracts report, chosen per paper (issue 16, point 4)."""

from __future__ import annotations

import pytest

from sovereign_agents import findings
from sovereign_agents.engines.extractive import ExtractiveEngine
from sovereign_agents.schemas import Paper

# a structured abstract (PubMed style) whose answer is in its results and conclusions
ABSTRACT = (
    "BACKGROUND Vitamin D deficiency is common in older adults and has been linked to falls. "
    "OBJECTIVE To determine whether monthly vitamin D supplementation reduces the rate of falls "
    "in adults older than 70 years. "
    "METHODS We randomized 2,256 community-dwelling adults to vitamin D or placebo for 3 years. "
    "RESULTS Vitamin D supplementation did not reduce the rate of falls (rate ratio 1.02, 95% "
    "CI 0.91-1.14; P = .70) compared with placebo in adults older than 70 years. "
    "CONCLUSIONS These data suggest that monthly vitamin D supplementation does not prevent "
    "falls in older adults. "
    "FUNDING National Health and Medical Research Council grant on vitamin D and falls."
)
GOAL = "Is it true that vitamin D supplementation reduces falls in older adults?"


@pytest.mark.parametrize(
    ("sentence", "claim"),
    [
        (  # section label and frame dropped, the hedge inside the statement kept
            "CONCLUSIONS These data suggest that folic acid may improve endothelial function "
            "in CAD by 20%.",
            "Folic acid may improve endothelial function in CAD by 20%.",
        ),
        (
            "Results: Compared with nonusers, supplement users had a reduced risk (OR=0.61, 95% "
            "CI: 0.43-0.87).",
            "Compared with nonusers, supplement users had a reduced risk (OR=0.61, 95% CI: "
            "0.43-0.87).",
        ),
        (  # the condition stays
            "In mice, we found that loss of Foo increases tumour growth by 40%.",
            "In mice, loss of Foo increases tumour growth by 40%.",
        ),
        (
            "Taken together, these results demonstrate that X is required for Y in vivo.",
            "X is required for Y in vivo.",
        ),
        (  # a negated finding is not a frame: nothing is dropped
            "We found no evidence that vitamin D prevents fractures in older adults.",
            "We found no evidence that vitamin D prevents fractures in older adults.",
        ),
        (  # a conjecture keeps its frame, or it would read as a finding
            "We hypothesize that Foo drives tumour growth in these mice strongly.",
            "We hypothesize that Foo drives tumour growth in these mice strongly.",
        ),
        (  # an acronym is not a section label
            "HIV RNA levels were lower in the treated group than in controls.",
            "HIV RNA levels were lower in the treated group than in controls.",
        ),
    ],
)
def test_a_finding_drops_labels_and_frames_and_keeps_what_changes_meaning(
    sentence: str, claim: str
) -> None:
    assert findings.finding(sentence) == claim


def test_sections_carry_over_to_unlabelled_sentences() -> None:
    labels = findings.sections(["BACKGROUND A b c.", "More context.", "RESULTS X rose.", "Y fell."])
    assert labels == ["BACKGROUND", "BACKGROUND", "RESULTS", "RESULTS"]
    assert findings.section_label("DESIGN, SETTING, AND PARTICIPANTS Cohort study.") == (
        "DESIGN, SETTING, AND PARTICIPANTS"
    )


def test_the_engine_reports_results_not_background_methods_or_funding() -> None:
    paper = Paper(id="p1", title="Monthly vitamin D and falls", abstract=ABSTRACT)
    claims = ExtractiveEngine().extract(GOAL, paper, 3, 0).value
    assert claims, "the results and conclusions answer the goal"
    evidence = " ".join(c.evidence for c in claims)
    assert "RESULTS" in evidence and "CONCLUSIONS" in evidence
    # aims, methods and funding never; background is weighed by the model, not excluded
    for unwanted in ("OBJECTIVE", "METHODS", "FUNDING"):
        assert unwanted not in evidence
    for claim in claims:
        assert claim.text != claim.evidence  # the label (and frame) dropped
        assert claim.text in claim.evidence or "CONCLUSIONS" in claim.evidence
        assert ABSTRACT[claim.evidence_start : claim.evidence_end] == claim.evidence
    assert any("P = .70" in c.text for c in claims) or any("does not" in c.text for c in claims)


def test_a_paper_on_something_else_gives_no_claim() -> None:
    paper = Paper(
        id="p2",
        title="Graph neural networks for molecules",
        abstract="RESULTS Our model improves property prediction accuracy by 12% on QM9. "
        "CONCLUSIONS Message passing with attention outperforms prior graph networks.",
    )
    assert ExtractiveEngine().extract(GOAL, paper, 3, 0).value == []


def test_the_fitted_parameters_carry_their_provenance() -> None:
    params = findings.params()
    assert set(params["weights"]) == set(findings.FEATURES)
    assert 0 < params["threshold"] < 1 and 1 <= params["per_paper"] <= 3
    provenance = params["provenance"]
    assert "first 300" in provenance["split"] and provenance["held_out"]["f1"] > 0
