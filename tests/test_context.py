"""The run's context: grouped knobs, validated when built (Python, CLI, a dict handed to the
graph), flat and dotted keys, env fallbacks, named presets and how they compose."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from sovereign_agents import Context, PolicyRules, build_graph
from sovereign_agents.context import FLAT, GROUPS, nested
from sovereign_agents.errors import ConfigError
from sovereign_agents.presets import HOSTED_NIM_URL, NIM_CHAT, PRESETS
from sovereign_agents.runner import context_from_run
from tests.test_bad_input import clean_failure, sovereign

GOAL = "How do sparse mixture-of-experts models reduce inference cost?"

# (knob values, what the one line must say: the knob's path, the value, what is allowed)
REJECTED: list[tuple[dict[str, Any], list[str]]] = [
    ({"max_papers": "abc"}, ["search.max_papers", "'abc'", "a whole number >= 1"]),
    ({"max_papers": 2.5}, ["search.max_papers", "2.5", "a whole number >= 1"]),
    ({"max_papers": True}, ["search.max_papers", "True", "a whole number"]),
    ({"max_papers": 0}, ["search.max_papers", "0", ">= 1"]),
    ({"search.max_papers": -3}, ["search.max_papers", "-3", ">= 1"]),
    ({"search": {"max_papers": "3"}}, ["search.max_papers", "'3'", "a whole number"]),
    ({"lsa_dim": 5000}, ["models.lsa_dim", "5000", ">= 1 and <= 4096"]),
    ({"min_relevance": math.nan}, ["search.min_relevance", "nan", "a finite number"]),
    ({"approve_threshold": math.inf}, ["tribunal.approve_threshold", "inf", "finite"]),
    ({"approve_threshold": 11}, ["tribunal.approve_threshold", "11", "<= 10"]),
    ({"policy": {"min_goal_coverage": 1.5}}, ["policy.min_goal_coverage", "1.5", "<= 1"]),
    ({"policy.min_verified_claims": -1}, ["policy.min_verified_claims", "-1", ">= 0"]),
    ({"verifier": "bm25"}, ["verification.verifier", "'bm25'", "hybrid, tfidf"]),
    ({"ngram_range": [2, 1]}, ["verification.ngram_range", "1 <= low <= high"]),
    ({"search": "google"}, ["search.backend", "'google'", "auto, local, arxiv"]),
    ({"arxiv_date_from": "2024/01/01"}, ["search.arxiv_date_from", "YYYY-MM-DD"]),
    ({"arxiv_categories": "cs.CL"}, ["search.arxiv_categories", "a list"]),
    ({"model_cache": "maybe"}, ["models.model_cache", "true or false"]),
    ({"role_llms": {"critic": "x"}}, ["models.role_llms", "critic", "skeptic"]),
    ({"max_concurrency": 0}, ["max_concurrency", ">= 1"]),
    ({"request_deadline_s": 0}, ["request_deadline_s", "> 0"]),
    ({"max_answer_chars": 10}, ["models.max_answer_chars", ">= 1000"]),
    ({"max_paper": 3}, ["unknown context key 'max_paper'", "3", "did you mean max_papers"]),
    ({"search.max_paper": 3}, ["unknown context key 'search.max_paper'", "max_papers"]),
    ({"tribunal": {"bar": 3}}, ["unknown context key 'tribunal.bar'", "approve_threshold"]),
    ({"policy": {"zzz": 1}}, ["unknown context key 'policy.zzz'", "min_verified_claims"]),
    ({"zzz": 1}, ["unknown context key 'zzz'", "max_papers", "verification"]),
]


@pytest.mark.parametrize(("knobs", "says"), REJECTED, ids=lambda v: str(v)[:40])
def test_a_bad_knob_from_python_is_one_line_naming_it(
    knobs: dict[str, Any], says: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        Context(**knobs)
    message = str(caught.value)
    assert "\n" not in message
    for part in says:
        assert part in message, message


@pytest.mark.parametrize(
    ("knobs", "says"), [REJECTED[0], REJECTED[1], REJECTED[22], REJECTED[13]], ids=str
)
def test_a_bad_context_dict_handed_to_the_graph_fails_before_any_node_runs(
    knobs: dict[str, Any], says: list[str]
) -> None:
    """What ``langgraph dev`` does with a run's context: LangGraph builds the context schema
    from the dict (``Context(**context)``) when the run starts."""
    ran: list[Any] = []
    with pytest.raises(ConfigError) as caught:
        for chunk in build_graph().stream({"goal": GOAL}, context=knobs, stream_mode="updates"):
            ran.append(chunk)
    assert ran == []
    assert all(part in str(caught.value) for part in says), caught.value


def test_flat_dotted_and_grouped_keys_are_one_knob() -> None:
    flat = Context(max_papers=3, search="local", verify_threshold=0.3, approve_threshold=8)
    dotted = Context(
        **{
            "search.max_papers": 3,
            "search.backend": "local",
            "verification.verify_threshold": 0.3,
            "tribunal.approve_threshold": 8,
        }
    )
    grouped = Context(
        search={"max_papers": 3, "backend": "local"},
        verification={"verify_threshold": 0.3},
        tribunal={"approve_threshold": 8},
    )
    assert flat == dotted == grouped
    assert flat.search.max_papers == 3 and flat.search.backend == "local"
    assert flat.search_backend == "local"
    assert flat.policy.approve_threshold == 8  # the policy's bar follows the tribunal's
    assert Context(max_papers=3.0).search.max_papers == 3  # 3.0 from JSON is 3
    # a later key wins, whichever form it takes
    assert Context(search={"max_papers": 3}, max_papers=5).search.max_papers == 5


def test_every_knob_has_one_flat_key_and_one_path() -> None:
    paths = list(FLAT.values())
    assert len(paths) == len(set(paths))
    for group, model in GROUPS.items():
        if model is PolicyRules:
            continue
        for field in model.model_fields:
            assert f"{group}.{field}" in paths
    assert FLAT["search"] == "search.backend" and FLAT["max_papers"] == "search.max_papers"


def test_the_context_is_frozen_and_recorded_flat() -> None:
    context = Context(max_papers=4, policy={"min_verified_claims": 2})
    with pytest.raises(ValueError, match=r"frozen"):
        context.search.max_papers = 5  # type: ignore[misc]
    record = context.describe()
    assert record["max_papers"] == 4 and record["policy"]["min_verified_claims"] == 2
    assert json.loads(json.dumps(record)) == record
    assert Context(**record) == context  # run.json rebuilds the same context


def test_an_explicit_policy_bar_is_kept() -> None:
    context = Context(approve_threshold=8, policy=PolicyRules(approve_threshold=5))
    assert context.tribunal.approve_threshold == 8 and context.policy.approve_threshold == 5
    assert Context(policy={"min_verified_claims": 3}).policy.approve_threshold == 6.5


def test_environment_fallbacks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOVEREIGN_CORPUS", str(tmp_path / "c.jsonl"))
    monkeypatch.setenv("SOVEREIGN_ARXIV_INTERVAL", "0.5")
    monkeypatch.setenv("SOVEREIGN_LLM", "nvidia:some/model")
    context = Context()
    assert context.search.corpus == str(tmp_path / "c.jsonl")
    assert context.search.arxiv_interval == 0.5
    assert context.models.llm == "nvidia:some/model"
    assert Context.preset("offline").models.llm == "extractive"  # a preset pins its knobs
    monkeypatch.setenv("SOVEREIGN_ARXIV_INTERVAL", "soon")
    with pytest.raises(ConfigError, match=r"search.arxiv_interval must be a finite number"):
        Context()


def test_paths_are_taken_for_path_knobs(tmp_path: Path) -> None:
    context = Context(corpus=tmp_path / "c.jsonl", cache_dir=tmp_path)
    assert context.search.corpus == str(tmp_path / "c.jsonl")
    assert context.cache_dir == str(tmp_path)


def test_objects_are_taken_where_a_knob_allows_them() -> None:
    class Backend:
        name = "mine"

        def search(self, query: str, k: int) -> list[Any]:
            return []

        def get(self, paper_id: str) -> Any:
            return None

        def describe(self) -> str:
            return "mine"

    class Verifier:  # the verification.Verifier protocol
        name = "mine"
        threshold = 0.5

        def verify(self, claims: Any, sources: Any) -> Any: ...

        def record(self) -> Any: ...

    context = Context(search=Backend(), verifier=Verifier())
    assert context.search.backend.name == "mine" and context.verification.verifier.name == "mine"
    assert context.describe()["search"] == "Backend"

    class SearchOnly:  # no get() or describe(): a run would fail at the report, so not taken
        name = "half"

        def search(self, query: str, k: int) -> list[Any]:
            return []

    with pytest.raises(ConfigError, match="SearchBackend object"):
        Context(search=SearchOnly())


def test_the_json_schema_lists_groups_and_flat_keys() -> None:
    """``langgraph dev`` keeps only the context keys its schema lists at the top level."""
    properties = build_graph().get_context_jsonschema()["properties"]  # type: ignore[index]
    assert {"models", "search", "verification", "tribunal", "policy"} <= set(properties)
    assert {"max_papers", "corpus", "llm", "verifier", "approve_threshold"} <= set(properties)


# --- presets --------------------------------------------------------------------------------


def test_the_offline_preset_is_the_default_setup() -> None:
    offline = Context.preset("offline")
    assert offline.models.llm == "extractive" and offline.models.embeddings == "lsa"
    assert offline.verification == Context().verification
    assert offline.search.max_papers == Context().search.max_papers


def test_the_reference_preset_is_the_seed_tfidf_setup() -> None:
    reference = Context.preset("reference")
    assert reference.verification.verifier == "tfidf"
    assert reference.verification.verify_threshold == 0.15
    assert reference.verification.ngram_range == (1, 2)
    assert (reference.search.n_queries, reference.search.max_papers) == (4, 12)
    assert (reference.tribunal.approve_threshold, reference.tribunal.max_revisions) == (6.5, 1)


def test_overrides_win_over_a_preset() -> None:
    context = Context.preset("reference", verify_threshold=0.2, **{"search.max_papers": 5})
    assert context.verification.verify_threshold == 0.2 and context.search.max_papers == 5
    assert context.verification.verifier == "tfidf"  # the rest of the preset stays
    with pytest.raises(ConfigError, match=r"verification.verify_threshold"):
        Context.preset("reference", verify_threshold=2)


def test_the_nim_presets_need_their_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NVIDIA_API_KEY", raising=False)
    monkeypatch.delenv("NVIDIA_BASE_URL", raising=False)
    monkeypatch.delenv("SOVEREIGN_LLM", raising=False)
    with pytest.raises(ConfigError, match=r"preset nim-hosted: .*NVIDIA_API_KEY"):
        Context.preset("nim-hosted")
    with pytest.raises(ConfigError, match=r"preset nim-selfhosted: .*NVIDIA_BASE_URL"):
        Context.preset("nim-selfhosted")
    given = Context.preset("nim-selfhosted", llm_base_url="http://127.0.0.1:9/v1")
    assert given.models.llm_base_url == "http://127.0.0.1:9/v1"
    monkeypatch.setenv("NVIDIA_BASE_URL", "http://127.0.0.1:8000/v1")
    selfhosted = Context.preset("nim-selfhosted")
    assert selfhosted.models.llm_base_url == "http://127.0.0.1:8000/v1"
    assert selfhosted.models.llm == NIM_CHAT
    monkeypatch.setenv("NVIDIA_API_KEY", "nvapi-test")
    hosted = Context.preset("nim-hosted")
    assert hosted.models.llm_base_url == HOSTED_NIM_URL  # hosted, whatever NVIDIA_BASE_URL says
    assert str(hosted.models.embeddings).startswith("nvidia:")


def test_an_unknown_preset_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"unknown preset 'fast'.*offline"):
        Context.preset("fast")


def test_a_rebuilt_context_takes_a_preset_then_overrides() -> None:
    recorded = Context(corpus="c.jsonl", max_papers=7, approve_threshold=8).describe()
    run = {"run_id": "r", "thread_id": "r", "goal": GOAL, "context": recorded}
    plain = context_from_run(run)
    assert plain.search.max_papers == 7 and plain.policy.approve_threshold == 8
    rebuilt = context_from_run(run, "reference", approve_threshold=9, **{"search.n_queries": 2})
    assert rebuilt.verification.verifier == "tfidf"  # the preset over the recorded knobs
    assert rebuilt.search.max_papers == 12  # the preset pins it
    assert rebuilt.search.corpus == "c.jsonl"  # what the preset leaves alone is the run's
    assert rebuilt.search.n_queries == 2 and rebuilt.tribunal.approve_threshold == 9
    assert rebuilt.policy.approve_threshold == 9  # the policy's bar kept following
    with pytest.raises(ConfigError, match=r"search.max_papers"):
        context_from_run(run, max_papers="many")


def test_old_flat_run_records_still_rebuild() -> None:
    flat = {"corpus": "c.jsonl", "search": "local", "max_papers": 5, "verifier": "tfidf"}
    run = {"run_id": "r", "thread_id": "r", "goal": GOAL, "context": {**flat, "gone": 1}}
    context = context_from_run(run)
    assert context.search.backend == "local" and context.search.max_papers == 5
    assert nested(flat)["search"] == {"corpus": "c.jsonl", "backend": "local", "max_papers": 5}


def test_every_preset_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NVIDIA_API_KEY", "nvapi-test")
    monkeypatch.setenv("NVIDIA_BASE_URL", "http://127.0.0.1:8000/v1")
    for name in PRESETS:
        assert isinstance(Context.preset(name), Context)


# --- the command line ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--set", "max_papers=abc"], "search.max_papers must be a whole number >= 1, not 'abc'"),
        (["--set", "max_papers=2.5"], "search.max_papers must be a whole number >= 1, not 2.5"),
        (["--set", "search.max_papers=0"], "search.max_papers must be >= 1, not 0"),
        (["--set", "max_paper=3"], "unknown context key 'max_paper' (set to 3): did you mean"),
        (["--set", "max_papers"], "--set takes KEY=JSON"),
        (["--preset", "fast"], "unknown preset 'fast'"),
        (["--preset", "reference", "--set", "verify_threshold=7"], "verify_threshold must be"),
    ],
    ids=lambda v: str(v)[:30],
)
def test_a_bad_knob_or_preset_on_the_command_line_is_one_line(
    args: list[str], says: str, daily_corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    line = clean_failure(
        sovereign("run", GOAL, "--corpus", str(daily_corpus), "--out", str(out), *args)
    )
    assert says in line, line
    assert not out.exists()  # refused before anything ran


def test_a_nim_preset_without_its_endpoint_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("NVIDIA_BASE_URL", raising=False)
    line = clean_failure(
        sovereign("run", GOAL, "--preset", "nim-selfhosted", "--out", str(tmp_path))
    )
    assert "NVIDIA_BASE_URL" in line


def test_preset_options_and_set_compose_on_the_command_line(
    daily_corpus: Path, tmp_path: Path
) -> None:
    """The preset, then the explicit options, then --set; run.json records the result."""
    out = tmp_path / "run"
    proc = sovereign(
        "run", GOAL, "--corpus", str(daily_corpus), "--out", str(out), "--quiet",
        "--preset", "reference", "--set", "verify_threshold=0.2", "--set", "search.max_papers=5",
        "--interrupt-before", "plan",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    recorded = json.loads((out / "run.json").read_text())["context"]
    assert recorded["verifier"] == "tfidf" and recorded["stance_judge"] is False
    assert recorded["verify_threshold"] == 0.2 and recorded["max_papers"] == 5
    assert recorded["corpus"] == str(daily_corpus) and recorded["llm"] == "extractive"
    # without a preset, a run is the offline one, as before
    plain = tmp_path / "plain"
    proc = sovereign(
        "run", GOAL, "--corpus", str(daily_corpus), "--out", str(plain), "--quiet",
        "--interrupt-before", "plan",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    recorded = json.loads((plain / "run.json").read_text())["context"]
    assert recorded["verifier"] == "hybrid" and recorded["max_papers"] == 12


def test_a_knob_is_read_through_its_group_only() -> None:
    context = Context(max_papers=4)
    assert context.get("search.max_papers") == context.search.max_papers == 4
    with pytest.raises(AttributeError):
        _ = context.max_papers  # type: ignore[attr-defined]


def test_a_run_made_with_python_objects_says_so_when_rebuilt() -> None:
    class Verifier:  # the verification.Verifier protocol
        name = "mine"
        threshold = 0.5

        def verify(self, claims: Any, sources: Any) -> Any: ...

        def record(self) -> Any: ...

    recorded = Context(verifier=Verifier()).describe()
    run = {"run_id": "r", "thread_id": "r", "goal": GOAL, "context": recorded}
    with pytest.raises(Exception, match=r"verifier was a Python object \(Verifier\)"):
        context_from_run(run)
    with pytest.raises(ConfigError, match=r"^models must be an object, not 3$"):
        Context(models=3)
