"""The run's context schema: every knob of a run, with its default.

LangGraph passes it to each node as ``runtime.context`` (``context_schema=Context``). It is
not part of the state and is not checkpointed: pass the same context to resume a run.
Fields fall back to ``SOVEREIGN_*`` environment variables where that is useful.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from sovereign_agents import presets, roles
from sovereign_agents.errors import ContextError
from sovereign_agents.knobs import Group, Number, PathText, Whole, one_line

DATE = r"^\d{4}-\d{2}-\d{2}$"
MAX_ANSWER_CHARS = 100_000  # default of Context.max_answer_chars (and of models.CallPolicy)


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def _env_number(name: str, default: float) -> Any:
    """A number from the environment; a value that is not one is left for validation to
    reject (naming the knob), never a crash while building the default."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        return raw


def _role_names(value: dict[str, Any], known: tuple[str, ...], knob: str) -> dict[str, Any]:
    unknown = set(value) - set(known)
    if unknown:
        raise PydanticCustomError(
            "roles",
            f"{knob} names unknown roles: {sorted(unknown)}",
            {"allowed": f"an object keyed by the registered roles ({', '.join(known)})"},
        )
    return value


class PolicyRules(Group):
    """When a run is approved, sent to a human, or rejected. Recorded in every report."""

    approve_threshold: Number | None = Field(
        default=None,
        ge=0,
        le=10,
        description="final tribunal score needed for AUTO_APPROVE (default: the context's "
        "approve_threshold, the tribunal's own bar, so verdict and policy agree)",
    )
    min_verified_claims: Whole = Field(
        default=1, ge=0, description="AUTO_APPROVE needs at least this many verified claims"
    )
    min_relevant_papers: Whole = Field(
        default=1, ge=0, description="REJECT when fewer relevant papers were found"
    )
    # the evidence of relevance AUTO_APPROVE needs when a reviewer ran offline (no model
    # judged the draft): measured by relevance.py against the goal's concepts (goal.py)
    min_relevant_claims: Whole = Field(
        default=2,
        ge=0,
        description="offline reviewers: AUTO_APPROVE needs this many verified claims that "
        "bear on the goal",
    )
    min_goal_coverage: Number = Field(
        default=0.6,
        ge=0,
        le=1,
        description="offline reviewers: AUTO_APPROVE needs this share of the goal's concepts "
        "covered by relevant, verified claims (its core concepts always)",
    )
    require_answer: bool = Field(
        default=True,
        description="offline reviewers: AUTO_APPROVE needs a relevant, verified claim that "
        "gives what the goal asks (a number, a comparison, a metric)",
    )

    def as_dict(self) -> dict[str, float | int | bool]:
        return {name: getattr(self, name) for name in type(self).model_fields}


class ModelsConfig(Group):
    """Which models run each role, how they are called, and the prompts they get."""

    llm: Any = Field(
        default_factory=lambda: _env("SOVEREIGN_LLM", "extractive"),
        description="chat model for every role: 'extractive' (offline engine), "
        "'nvidia:<model>', '<provider>:<model>' (LangChain's init_chat_model, e.g. "
        "'openai:gpt-4o-mini'), or a LangChain BaseChatModel object",
    )
    llm_base_url: str | None = Field(
        default=None,
        description="self-hosted NIM / OpenAI-compatible base URL for nvidia: specs (default: "
        "NVIDIA_BASE_URL; hosted NIM with NVIDIA_API_KEY); for '<provider>:<model>' specs "
        "the client's base_url (default: the provider's own env, e.g. OPENAI_BASE_URL)",
    )
    role_llms: dict[str, Any] = Field(
        default_factory=dict,
        description="per-role override of `llm`, e.g. {'skeptic': 'nvidia:...'}",
        json_schema_extra={"allowed": "an object keyed by role (roles.model_roles())"},
    )
    model_cache: bool = Field(
        default=False,
        description="cache model responses (SQLite): an identical rerun makes no model calls",
    )
    max_tokens: Whole = Field(
        default=1024, ge=1, description="longest answer a chat model may give (tokens)"
    )
    max_answer_chars: Whole = Field(
        default=MAX_ANSWER_CHARS,
        ge=1_000,
        description="longest chat answer accepted (characters; the HTTP body is cut near this "
        "size too): a longer one fails the call and the role falls back; also the most the "
        "trace keeps of any one text of a call",
    )
    model_http_retries: Whole = Field(
        default=3, ge=0, description="retries on 429/5xx/connection failures"
    )
    model_output_retries: Whole = Field(
        default=2, ge=0, description="re-asks when an answer is invalid for the schema"
    )
    embeddings: Any = Field(
        default_factory=lambda: _env("SOVEREIGN_EMBEDDINGS", "lsa"),
        description="'lsa' (offline TF-IDF + SVD), 'nvidia:<model>', '<provider>:<model>' "
        "(LangChain's init_embeddings), or an Embeddings object",
    )
    lsa_dim: Whole = Field(default=128, ge=1, le=4096, description="dimension of the LSA index")
    prompt_versions: dict[str, str] = Field(
        default_factory=dict,
        description="role -> prompt version (default: the highest version)",
        json_schema_extra={"allowed": "an object role -> version (roles.engine_roles())"},
    )
    prompts_dir: PathText | None = Field(
        default_factory=lambda: _env("SOVEREIGN_PROMPTS_DIR"),
        description="folder of prompts/<role>/vN.md (default: the packaged ones)",
    )

    @field_validator("role_llms")
    @classmethod
    def _known_model_roles(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _role_names(value, roles.model_roles(), "role_llms")

    @field_validator("prompt_versions")
    @classmethod
    def _known_prompt_roles(cls, value: dict[str, str]) -> dict[str, str]:
        return _role_names(value, roles.engine_roles(), "prompt_versions")


def _backend(value: Any) -> Any:
    from sovereign_agents.search.registry import allowed_sources, is_source

    if is_source(value):
        return value
    raise PydanticCustomError("backend", "not a search backend", {"allowed": allowed_sources()})


class SearchConfig(Group):
    """Where papers come from, how many, and how many claims each gives."""

    backend: Annotated[Any, AfterValidator(_backend)] = Field(
        default="auto",
        description="a registered search source ('local': the corpus, 'arxiv'; "
        "search.register_source adds one), 'auto' (local if a corpus, else arxiv), or a "
        "SearchBackend object (e.g. replay.ReplaySearch); flat key: search",
        json_schema_extra={
            "allowed": "auto, a registered source (local, arxiv, ...) or a SearchBackend object"
        },
    )
    corpus: PathText | None = Field(
        default_factory=lambda: _env("SOVEREIGN_CORPUS"),
        description="arXiv metadata JSON Lines (Kaggle or daily-listing format)",
    )
    arxiv_api_url: str | None = Field(
        default_factory=lambda: _env("SOVEREIGN_ARXIV_API_URL"),
        description="arXiv API endpoint (default: arXiv's own)",
    )
    arxiv_interval: Number = Field(
        default_factory=lambda: _env_number("SOVEREIGN_ARXIV_INTERVAL", 3.0),
        ge=0,
        description="seconds between arXiv requests (all threads)",
    )
    arxiv_retries: Whole = Field(default=3, ge=0, description="retries per arXiv page")
    arxiv_backoff: Number = Field(
        default=2.0, ge=0, description="first retry delay in seconds, doubled each time"
    )
    arxiv_timeout: Number = Field(
        default=30.0,
        gt=0,
        description="seconds a connection or one read may stall (the whole request is bounded "
        "by request_deadline_s)",
    )
    arxiv_categories: list[str] = Field(
        default_factory=list, description="arXiv categories to keep, e.g. cs.CL"
    )
    arxiv_date_from: str | None = Field(
        default=None, pattern=DATE, description="earliest submission date, YYYY-MM-DD"
    )
    arxiv_date_to: str | None = Field(
        default=None, pattern=DATE, description="latest submission date, YYYY-MM-DD"
    )
    n_queries: Whole = Field(default=4, ge=1, description="search queries per round")
    papers_per_query: Whole = Field(default=8, ge=1, description="hits kept per query")
    max_papers: Whole = Field(default=12, ge=1, description="papers kept for a run")
    min_relevance: Number = Field(
        default=0.25,
        ge=0,
        le=1,
        description="papers whose relevance to the goal (0.5 semantic + 0.5 IDF-weighted "
        "goal-term share) is below this are left out",
    )
    claims_per_paper: Whole = Field(default=3, ge=1, description="claims taken per paper")


def _verifier(value: Any) -> Any:
    from sovereign_agents.verification.registry import allowed_verifiers, is_verifier

    if is_verifier(value):
        return value
    raise PydanticCustomError("verifier", "not a verifier", {"allowed": allowed_verifiers()})


def _ngram_range(value: tuple[int, int]) -> tuple[int, int]:
    if not 1 <= value[0] <= value[1]:
        raise PydanticCustomError("ngram_range", "not an n-gram range")
    return value


class VerificationConfig(Group):
    """How each claim is checked against its evidence."""

    verifier: Annotated[Any, AfterValidator(_verifier)] = Field(
        default="hybrid",
        description="claim verifier: 'hybrid' (evidence sentence + fitted logistic model; with "
        "a chat model, plus an entailment judge), 'tfidf' (the reference), another registered "
        "name (verification.register_verifier), or a Verifier object",
        json_schema_extra={
            "allowed": "a registered verifier (hybrid, tfidf, ...) or an object with name, "
            "threshold, verify() and record()"
        },
    )
    ngram_range: Annotated[tuple[Whole, Whole], AfterValidator(_ngram_range)] = Field(
        default=(1, 2),
        description="TF-IDF word n-grams of the tfidf verifier",
        json_schema_extra={"allowed": "[low, high] whole numbers with 1 <= low <= high"},
    )
    verify_threshold: Number | None = Field(
        default=None,
        ge=0,
        le=1,
        description="a claim is verified when confidence >= this (default: the verifier's "
        "own: 0.15 for tfidf, the fitted one for hybrid)",
    )
    stance_judge: bool = Field(
        default=True,
        description="with a chat model for the 'judge' role (default: llm), check each claim's "
        "stance against its evidence (hybrid verifier only)",
    )


class TribunalConfig(Group):
    """The reviewers' bar, the revision rounds, and the human review of disputed claims."""

    approve_threshold: Number = Field(
        default=6.5, ge=0, le=10, description="tribunal mean below this triggers a revision"
    )
    max_revisions: Whole = Field(default=1, ge=0, description="revision rounds at most")
    review_disputed: bool = Field(
        default=False,
        description="pause (interrupt) for a human verdict on claims the verifier and the "
        "reviewers disagree on, or whose confidence is in the grey zone",
    )
    grey_zone: Number = Field(
        default=0.05,
        ge=0,
        le=1,
        description="confidences within this of the threshold count as disputed",
    )


GROUPS: dict[str, type[Group]] = {
    "models": ModelsConfig,
    "search": SearchConfig,
    "verification": VerificationConfig,
    "tribunal": TribunalConfig,
    "policy": PolicyRules,
}
FLAT_NAMES = {"search.backend": "search"}  # group fields whose flat key is not their own name


class Context(Group):
    """Every knob of a research run, in groups, checked when it is built.

    ``graph.invoke(input, context=Context(search={"max_papers": 6}))``; the flat keys of
    earlier versions still work (``Context(max_papers=6)``, ``Context(search="local")``), and
    so do dotted ones (``Context(**{"search.max_papers": 6})``). A wrong type, a value out of
    range or an unknown key is a ``ContextError`` (a ``ConfigError``) with one line naming
    the knob.
    ``Context.preset("reference", **overrides)`` starts from a named preset (``presets.py``).
    """

    models: ModelsConfig = Field(default_factory=ModelsConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    verification: VerificationConfig = Field(default_factory=VerificationConfig)
    tribunal: TribunalConfig = Field(default_factory=TribunalConfig)
    policy: PolicyRules = Field(default_factory=PolicyRules)

    # --- run-wide: every part of the run shares these -----------------------------------
    max_concurrency: Whole | None = Field(
        default=64,
        ge=1,
        description="parallel model requests at most: threads for parallel branches (Send per "
        "query / paper, the reviewers) and for the stance judge's per-claim calls; lower it "
        "for a rate-limited endpoint. None = LangGraph's default, min(32, CPUs + 4), which "
        "splits 12 extract calls into waves on a small machine",
    )
    request_deadline_s: Number = Field(
        default=120.0,
        gt=0,
        description="wall-clock deadline of every HTTP request (model, embeddings, arXiv), "
        "connection to last byte; a request past it fails like a timeout",
    )
    max_response_bytes: Whole = Field(
        default=8_000_000,
        ge=10_000,
        description="largest HTTP response body read (arXiv pages, embeddings, chat); a larger "
        "one fails the request",
    )
    cache_dir: PathText | None = Field(
        default_factory=lambda: _env("SOVEREIGN_CACHE_DIR"),
        description="where indexes, corpus LSA, arXiv results and model answers are cached "
        "(default $SOVEREIGN_CACHE_DIR; unset: see sovereign_agents.cache.cache_location)",
    )

    model_config = ConfigDict(json_schema_extra=lambda schema, cls: _flat_properties(schema))

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ContextError(one_line(exc, Context)) from None

    @model_validator(mode="before")
    @classmethod
    def _grouped(cls, data: Any) -> Any:
        """Flat and dotted keys into their groups; the policy's bar follows the tribunal's."""
        if not isinstance(data, Mapping):
            return data
        values = nested(data)
        for group in GROUPS:  # built here, not by a default factory: errors name the group
            values.setdefault(group, {})
        policy = values.get("policy")
        bar = _valid_bar(values.get("tribunal", {}).get("approve_threshold", TRIBUNAL_BAR))
        if bar is not None:
            if isinstance(policy, Mapping) and policy.get("approve_threshold") is None:
                values["policy"] = {**policy, "approve_threshold": bar}
            elif isinstance(policy, PolicyRules) and policy.approve_threshold is None:
                values["policy"] = policy.model_copy(update={"approve_threshold": bar})
        return values

    @classmethod
    def preset(cls, name: str, /, **overrides: Any) -> Context:
        """A named preset (``presets.PRESETS``) with ``overrides`` (flat, dotted or grouped
        keys) applied over it."""
        chosen = presets.preset(name)
        context = cls(**layered(chosen.values(), overrides))
        chosen.check(context)
        return context

    @classmethod
    def known_keys(cls) -> list[str]:
        """Every key a context accepts at the top: groups, run-wide knobs, flat knobs."""
        return sorted({*cls.model_fields, *FLAT})

    def llm_for(self, role: str) -> Any:
        return self.models.role_llms.get(role, self.models.llm)

    @property
    def search_backend(self) -> str:
        """The registered source a named backend resolves to (``auto``: local if a corpus,
        else arxiv); a backend object is used as it is."""
        from sovereign_agents.search.registry import source_name

        return source_name(self)

    def describe(self) -> dict[str, Any]:
        """The knobs as JSON-able values under their flat keys (run.json, report.json; model
        objects by their class name)."""
        return {flat: _plain(self.get(path)) for flat, path in FLAT.items()}

    def get(self, path: str) -> Any:
        """A knob by its dotted path (``"search.max_papers"``) or top-level name."""
        value: Any = self
        for part in path.split("."):
            value = getattr(value, part)
        return value


TRIBUNAL_BAR = TribunalConfig.model_fields["approve_threshold"].default


def _valid_bar(value: Any) -> float | None:
    """The tribunal's bar if it is valid (an invalid one is reported as the tribunal's)."""
    try:
        return TribunalConfig(approve_threshold=value).approve_threshold
    except ValidationError:
        return None


def _flat_keys() -> dict[str, str]:
    """flat key -> dotted path, for every knob (``max_papers`` -> ``search.max_papers``)."""
    flat: dict[str, str] = {}
    for name in Context.model_fields:
        group = GROUPS.get(name)
        if group is None or group is PolicyRules:
            flat[name] = name
            continue
        for field in group.model_fields:
            path = f"{name}.{field}"
            key = FLAT_NAMES.get(path, field)
            if key in flat:
                raise TypeError(f"context knob {key!r} is in two groups")  # a coding error
            flat[key] = path
    return flat


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, PolicyRules):
        return value.as_dict()
    return type(value).__name__


def nested(data: Mapping[str, Any]) -> dict[str, Any]:
    """Context keyword values with flat (``max_papers``) and dotted (``search.max_papers``)
    keys moved into their groups; later keys win; unknown keys are kept for validation to
    reject."""
    values: dict[str, Any] = {}

    def put(group: str, field: str, value: Any) -> None:
        current = values.get(group)
        merged = dict(current) if isinstance(current, Mapping | BaseModel) else {}
        merged[field] = value
        values[group] = merged

    for key, value in data.items():
        group, dot, field = key.partition(".")
        if dot and group in GROUPS:
            put(group, field, value)
        elif key in GROUPS and isinstance(value, Mapping | BaseModel):
            for name, item in dict(value).items():
                put(key, name, item)
        elif key in FLAT and "." in FLAT[key]:
            group, _, field = FLAT[key].partition(".")
            put(group, field, value)
        else:
            values[key] = value
    return values


def layered(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Context keyword values, each layer over the ones before it, knob by knob."""
    values: dict[str, Any] = {}
    for layer in layers:
        values = nested({**_dotted(values), **_dotted(nested(layer))})
    return values


def _dotted(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in GROUPS and isinstance(value, Mapping | BaseModel):
            out.update({f"{key}.{name}": item for name, item in dict(value).items()})
        else:
            out[key] = value
    return out


def _flat_properties(schema: dict[str, Any]) -> None:
    """Advertise the flat keys too: ``langgraph dev`` drops context keys that its schema's
    top level does not list, so ``{"max_papers": 6}`` over HTTP needs them listed."""
    properties = schema.setdefault("properties", {})
    for key, path in FLAT.items():
        if key in properties:
            continue
        group, field = path.split(".")
        info = GROUPS[group].model_fields[field]
        properties[key] = {"description": f"flat key of {path}: {info.description}"}


FLAT = _flat_keys()
