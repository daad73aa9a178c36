"""Goal understanding: concepts that carry meaning, scaffolding dropped, any script."""

from __future__ import annotations

import pytest

from sovereign_agents.engines.extractive import finding, plan_queries
from sovereign_agents.goal import harvest_aliases, present_terms, understand_goal, with_vocabulary
from sovereign_agents.relevance import features
from sovereign_agents.text import analyze

QUICK_START = (
    "Does the inference efficiency gain of sparse MoE vision-language models over dense VLMs "
    "on MMMU generalize to MathVista or ChartQA under equal FLOPs?"
)
SPEC_DEC = (
    "How does speculative decoding speed up LLM inference, and what acceptance rates are reported?"
)
RAG = (
    "Which techniques reduce hallucination in retrieval-augmented generation, and how is the "
    "reduction measured?"
)


def texts(goal: str, kind: str | None = None) -> list[str]:
    return [c.text for c in understand_goal(goal).concepts if kind is None or c.kind == kind]


def test_the_quick_start_goal_keeps_its_core_and_its_benchmarks() -> None:
    analysis = understand_goal(QUICK_START)
    assert texts(QUICK_START, "core") == ["sparse MoE vision-language models"]
    assert texts(QUICK_START, "ask") == ["inference efficiency gain"]
    assert {"MMMU", "MathVista", "ChartQA", "dense VLMs"} <= set(texts(QUICK_START))
    core = analysis.core[0]
    assert core.entities == ("moe",) and core.compounds == tuple(analyze("vision language"))
    assert analysis.yes_no and analysis.is_question and not analysis.flags()
    # question scaffolding is not a concept
    words = " ".join(texts(QUICK_START)).lower()
    for filler in ("does", "generalize", "under", "equal"):
        assert filler not in words.split()


def test_what_is_asked_is_found_and_filler_verbs_are_not_concepts() -> None:
    assert texts(SPEC_DEC, "core") == ["speculative decoding"]
    assert texts(SPEC_DEC, "ask") == ["acceptance rates"]
    assert all("reported" not in t for t in texts(SPEC_DEC))
    rag = understand_goal(RAG)
    assert texts(RAG, "core") == ["hallucination", "retrieval-augmented generation"]
    assert rag.measurement_asked and "how it is measured" in rag.ask_labels
    assert all("measured" not in t and "techniques" not in t for t in texts(RAG))


@pytest.mark.parametrize(
    ("goal", "flag"),
    [
        ("transformers", "not a question"),
        ("transformers", "too broad"),
        ("¿Cómo mejoran los modelos de difusión la generación de imágenes?", "language"),
        ("What?", "names nothing"),
        ("x?", "names nothing"),
    ],
)
def test_goals_that_cannot_be_answered_as_asked_are_flagged(goal: str, flag: str) -> None:
    assert any(flag in f for f in understand_goal(goal).flags())


def test_accents_fold_and_any_script_tokenises() -> None:
    analysis = understand_goal("¿Cómo mejoran los modelos de difusión la generación de imágenes?")
    assert set(analyze("difusion generacion")) <= set(analysis.terms)
    assert "c" not in analysis.terms and "mo" not in analysis.terms  # not "c mo"
    assert set(analyze("schrodinger")) <= present_terms("Schrödinger bridges for diffusion")


def test_a_goal_in_words_the_corpus_lacks_is_not_understood() -> None:
    goal = "How do quokka ferromagnons affect zwitterion lattices?"
    assert not understand_goal(goal).flags()
    vocabulary = set(analyze("model language vision"))
    flagged = with_vocabulary(understand_goal(goal), vocabulary).flags()
    assert any("do not occur in the corpus" in f for f in flagged)


def test_acronyms_defined_in_papers_match_their_long_form() -> None:
    aliases = harvest_aliases(
        ["Mixture-of-Experts (MoE) layers and large vision-language models (LVLMs) are used."]
    )
    assert aliases["moe"] == (" ".join(analyze("mixture experts")),)
    assert aliases[analyze("LVLMs")[0]] == (" ".join(analyze("large vision language models")),)
    core = understand_goal(QUICK_START).core[0]
    spelled_out = present_terms("a sparse mixture of experts vision-language model", aliases)
    assert core.matches(spelled_out, aliases)
    # an MoE language model without vision is not the goal's subject
    assert not core.matches(present_terms("sparse MoE large language models", aliases), aliases)


def test_every_round_zero_query_keeps_the_core_concept() -> None:
    for goal, core in [(QUICK_START, "moe"), (SPEC_DEC, "speculative decoding")]:
        queries = plan_queries(goal, None, 4)
        assert len(queries) == 4 and len(set(queries)) == 4
        assert all(core in q.lower() for q in queries), queries
        assert all("reported" not in q and "measured" not in q for q in queries)


def test_a_claim_answers_the_ask_only_with_a_number_on_the_core() -> None:
    analysis = understand_goal(SPEC_DEC)
    paper = "Scaling laws for speculative decoding with draft models."
    answering = features(
        analysis, "Scylla achieves 1.5-2.2 higher acceptance rate than EAGLE2.", paper
    )
    background = features(analysis, "Acceptance rates of tree methods vary.", "Tree search.")
    assert answering["ask_answered"] == 1.0 and answering["core_paper"] == 1.0
    assert background["ask_answered"] == 0.0 and background["core_paper"] == 0.0
    rag = understand_goal(RAG)
    off = features(rag, "Dimensionality reduction cuts the sample size by 40%.", "PCA for data.")
    assert off["ask_answered"] == 0.0


@pytest.mark.parametrize(
    ("sentence", "claim"),
    [
        (
            "Our findings indicate that while deploying MoE models presents greater challenges, "
            "it also offers significant optimization opportunities.",
            "While deploying MoE models presents greater challenges, it also offers significant "
            "optimization opportunities.",
        ),
        (
            "Experimental results demonstrate that the proposed method improves draft accuracy "
            "by 6% to 50% over vanilla speculative decoding.",
            "The proposed method improves draft accuracy by 6% to 50% over vanilla speculative "
            "decoding.",
        ),
        (
            "In this paper, we show that pruning halves the latency of vision transformers.",
            "Pruning halves the latency of vision transformers.",
        ),
        ("We show that it works.", "We show that it works."),  # too short once stripped
    ],
)
def test_offline_claims_state_the_finding_without_its_frame(sentence: str, claim: str) -> None:
    assert finding(sentence) == claim
