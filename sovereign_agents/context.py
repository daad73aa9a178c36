"""The run's context schema: every knob of a run, with its default.

LangGraph passes it to each node as ``runtime.context`` (``context_schema=Context``). It is
not part of the state and is not checkpointed: pass the same context to resume a run.
Fields fall back to ``SOVEREIGN_*`` environment variables where that is useful.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field, fields, replace
from typing import Any

from sovereign_agents import roles
from sovereign_agents.errors import ConfigError

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
VERIFIERS = ("hybrid", "tfidf")
MAX_ANSWER_CHARS = 100_000  # default of Context.max_answer_chars (and of models.CallPolicy)


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


_BOUND_OPS = {"ge": ">=", "gt": ">", "le": "<="}


def check_bounds(obj: Any) -> None:
    """Each numeric field of a dataclass against its metadata bounds (``ge``, ``gt``,
    ``le``): the right type (int fields take whole numbers, no bools), finite (no NaN or
    infinity), in range; ``None`` only where the field's type allows it."""
    for f in fields(obj):
        bounds = {k: f.metadata[k] for k in ("ge", "gt", "le") if k in f.metadata}
        if not bounds:
            continue
        value = getattr(obj, f.name)
        kind = str(f.type)
        if value is None and "None" in kind:
            continue
        whole = kind.startswith("int")
        if isinstance(value, float) and whole and value.is_integer():
            value = int(value)  # 3.0 from JSON is 3
            setattr(obj, f.name, value)
        ok_type = isinstance(value, int) if whole else isinstance(value, int | float)
        if isinstance(value, bool) or not ok_type:
            expected = "a whole number" if whole else "a number"
            raise ConfigError(f"{f.name} must be {expected}, not {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{f.name} must be a finite number, not {value!r}")
        if (
            ("ge" in bounds and value < bounds["ge"])
            or ("gt" in bounds and value <= bounds["gt"])
            or ("le" in bounds and value > bounds["le"])
        ):
            allowed = " and ".join(
                f"{ {'ge': '>=', 'gt': '>', 'le': '<='}[k] } {v}" for k, v in bounds.items()
            )
            raise ConfigError(f"{f.name} must be {allowed}, not {value!r}")


@dataclass(kw_only=True)
class PolicyRules:
    """When a run is approved, sent to a human, or rejected. Recorded in every report."""

    approve_threshold: float | None = field(
        default=None,
        metadata={
            "ge": 0,
            "le": 10,
            "description": "final tribunal score needed for AUTO_APPROVE (default: the "
            "context's approve_threshold, the tribunal's own bar, so verdict and policy agree)",
        },
    )
    min_verified_claims: int = field(
        default=1,
        metadata={"ge": 0, "description": "AUTO_APPROVE needs at least this many verified claims"},
    )
    min_relevant_papers: int = field(
        default=1, metadata={"ge": 0, "description": "REJECT when fewer relevant papers were found"}
    )
    # the evidence of relevance AUTO_APPROVE needs when a reviewer ran offline (no model
    # judged the draft): measured by relevance.py against the goal's concepts (goal.py)
    min_relevant_claims: int = field(
        default=2,
        metadata={
            "ge": 0,
            "description": "offline reviewers: AUTO_APPROVE needs this many verified claims "
            "that bear on the goal",
        },
    )
    min_goal_coverage: float = field(
        default=0.6,
        metadata={
            "ge": 0,
            "le": 1,
            "description": "offline reviewers: AUTO_APPROVE needs this share of the goal's "
            "concepts covered by relevant, verified claims (its core concepts always)",
        },
    )
    require_answer: bool = field(
        default=True,
        metadata={
            "description": "offline reviewers: AUTO_APPROVE needs a relevant, verified claim "
            "that gives what the goal asks (a number, a comparison, a metric)"
        },
    )

    def __post_init__(self) -> None:
        check_bounds(self)

    def as_dict(self) -> dict[str, float | int | bool]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(kw_only=True)
class Context:
    """Every knob of a research run. Pass as ``graph.invoke(input, context=Context(...))``."""

    # --- models -------------------------------------------------------------------------
    llm: Any = field(
        default_factory=lambda: _env("SOVEREIGN_LLM", "extractive"),
        metadata={
            "description": "chat model for every role: 'extractive' (offline engine), "
            "'nvidia:<model>', or a LangChain BaseChatModel object"
        },
    )
    llm_base_url: str | None = field(
        default=None,
        metadata={
            "description": "self-hosted NIM / OpenAI-compatible base URL for nvidia: "
            "specs (default: NVIDIA_BASE_URL; hosted NIM with NVIDIA_API_KEY)"
        },
    )
    model_cache: bool = field(
        default=False,
        metadata={
            "description": "cache model responses (SQLite): an identical rerun makes no model calls"
        },
    )
    max_tokens: int = field(
        default=1024,
        metadata={"ge": 1, "description": "longest answer a chat model may give (tokens)"},
    )
    max_answer_chars: int = field(
        default=MAX_ANSWER_CHARS,
        metadata={
            "description": "longest chat answer accepted (characters; the HTTP body is cut "
            "near this size too): a longer one fails the call and the role falls back; also "
            "the most the trace keeps of any one text of a call"
        },
    )
    request_deadline_s: float = field(
        default=120.0,
        metadata={
            "description": "wall-clock deadline of every HTTP request (model, embeddings, "
            "arXiv), connection to last byte; a request past it fails like a timeout"
        },
    )
    max_response_bytes: int = field(
        default=8_000_000,
        metadata={
            "description": "largest HTTP response body read (arXiv pages, embeddings, chat); "
            "a larger one fails the request"
        },
    )
    model_http_retries: int = field(
        default=3, metadata={"ge": 0, "description": "retries on 429/5xx/connection failures"}
    )
    model_output_retries: int = field(
        default=2,
        metadata={"ge": 0, "description": "re-asks when an answer is invalid for the schema"},
    )
    role_llms: dict[str, Any] = field(
        default_factory=dict,
        metadata={"description": "per-role override of `llm`, e.g. {'skeptic': 'nvidia:...'}"},
    )
    embeddings: Any = field(
        default_factory=lambda: _env("SOVEREIGN_EMBEDDINGS", "lsa"),
        metadata={
            "description": "'lsa' (offline TF-IDF + SVD), 'nvidia:<model>', or an Embeddings object"
        },
    )
    lsa_dim: int = field(
        default=128, metadata={"ge": 1, "le": 4096, "description": "dimension of the LSA index"}
    )

    # --- search -------------------------------------------------------------------------
    corpus: str | None = field(
        default_factory=lambda: _env("SOVEREIGN_CORPUS"),
        metadata={"description": "arXiv metadata JSON Lines (Kaggle or daily-listing format)"},
    )
    search: Any = field(
        default="auto",
        metadata={
            "description": "'local' (the corpus), 'arxiv', 'auto' (local if a corpus), or a "
            "SearchBackend object (e.g. replay.ReplaySearch)"
        },
    )
    arxiv_api_url: str | None = field(
        default_factory=lambda: _env("SOVEREIGN_ARXIV_API_URL"),
        metadata={"description": "arXiv API endpoint (default: arXiv's own)"},
    )
    arxiv_interval: float = field(
        default_factory=lambda: float(_env("SOVEREIGN_ARXIV_INTERVAL", "3.0") or 3.0),
        metadata={"ge": 0, "description": "seconds between arXiv requests (all threads)"},
    )
    arxiv_retries: int = field(
        default=3, metadata={"ge": 0, "description": "retries per arXiv page"}
    )
    arxiv_backoff: float = field(
        default=2.0,
        metadata={"ge": 0, "description": "first retry delay in seconds, doubled each time"},
    )
    arxiv_timeout: float = field(
        default=30.0,
        metadata={
            "gt": 0,
            "description": "seconds a connection or one read may stall (the whole request is "
            "bounded by request_deadline_s)",
        },
    )
    arxiv_categories: list[str] = field(
        default_factory=list, metadata={"description": "arXiv categories to keep, e.g. cs.CL"}
    )
    arxiv_date_from: str | None = field(
        default=None, metadata={"description": "earliest submission date, YYYY-MM-DD"}
    )
    arxiv_date_to: str | None = field(
        default=None, metadata={"description": "latest submission date, YYYY-MM-DD"}
    )
    n_queries: int = field(default=4, metadata={"ge": 1, "description": "search queries per round"})
    papers_per_query: int = field(
        default=8, metadata={"ge": 1, "description": "hits kept per query"}
    )
    max_papers: int = field(default=12, metadata={"ge": 1, "description": "papers kept for a run"})
    min_relevance: float = field(
        default=0.25,
        metadata={
            "ge": 0,
            "le": 1,
            "description": "papers whose relevance to the goal (0.5 semantic + 0.5 "
            "IDF-weighted goal-term share) is below this are left out",
        },
    )
    claims_per_paper: int = field(
        default=3, metadata={"ge": 1, "description": "claims taken per paper"}
    )
    max_concurrency: int | None = field(
        default=64,
        metadata={
            "ge": 1,
            "description": "parallel model requests at most: threads for parallel branches "
            "(Send per query / paper, the reviewers) and for the stance judge's per-claim "
            "calls; lower it for a rate-limited endpoint. None = LangGraph's default, "
            "min(32, CPUs + 4), which splits 12 extract calls into waves on a small machine",
        },
    )

    # --- verification -------------------------------------------------------------------
    verifier: str = field(
        default="hybrid",
        metadata={
            "description": "claim verifier: 'hybrid' (evidence sentence + fitted logistic "
            "model; with a chat model, plus an entailment judge) or 'tfidf' (the reference)"
        },
    )
    ngram_range: tuple[int, int] = field(
        default=(1, 2), metadata={"description": "TF-IDF word n-grams of the tfidf verifier"}
    )
    verify_threshold: float | None = field(
        default=None,
        metadata={
            "ge": 0,
            "le": 1,
            "description": "a claim is verified when confidence >= this (default: the "
            "verifier's own: 0.15 for tfidf, the fitted one for hybrid)",
        },
    )
    stance_judge: bool = field(
        default=True,
        metadata={
            "description": "with a chat model for the 'judge' role (default: llm), check each "
            "claim's stance against its evidence (hybrid verifier only)"
        },
    )

    # --- tribunal and policy ------------------------------------------------------------
    approve_threshold: float = field(
        default=6.5,
        metadata={"ge": 0, "le": 10, "description": "tribunal mean below this triggers a revision"},
    )
    max_revisions: int = field(
        default=1, metadata={"ge": 0, "description": "revision rounds at most"}
    )
    review_disputed: bool = field(
        default=False,
        metadata={
            "description": "pause (interrupt) for a human verdict on claims the verifier and "
            "the reviewers disagree on, or whose confidence is in the grey zone"
        },
    )
    grey_zone: float = field(
        default=0.05,
        metadata={
            "ge": 0,
            "le": 1,
            "description": "confidences within this of the threshold count as disputed",
        },
    )
    policy: PolicyRules = field(default_factory=PolicyRules)

    # --- prompts and files --------------------------------------------------------------
    prompt_versions: dict[str, str] = field(
        default_factory=dict,
        metadata={"description": "role -> prompt version (default: the highest version)"},
    )
    prompts_dir: str | None = field(
        default_factory=lambda: _env("SOVEREIGN_PROMPTS_DIR"),
        metadata={"description": "folder of prompts/<role>/vN.md (default: the packaged ones)"},
    )
    cache_dir: str | None = field(
        default_factory=lambda: _env("SOVEREIGN_CACHE_DIR"),
        metadata={"description": "where search indexes are cached (default ~/.cache/sovereign)"},
    )

    def __post_init__(self) -> None:
        if isinstance(self.policy, dict):
            self.policy = PolicyRules(**self.policy)
        if self.policy.approve_threshold is None:
            self.policy = replace(self.policy, approve_threshold=self.approve_threshold)
        if isinstance(self.ngram_range, list):
            self.ngram_range = (int(self.ngram_range[0]), int(self.ngram_range[1]))
        unknown = set(self.role_llms) - set(roles.model_roles())
        if unknown:
            raise ConfigError(
                f"role_llms names unknown roles: {sorted(unknown)}; known: {roles.model_roles()}"
            )
        unknown = set(self.prompt_versions) - set(roles.engine_roles())
        if unknown:
            raise ConfigError(f"prompt_versions names unknown roles: {sorted(unknown)}")
        if isinstance(self.search, str) and self.search not in {"auto", "local", "arxiv"}:
            raise ConfigError(f"search must be auto, local or arxiv, not {self.search!r}")
        if self.verifier not in VERIFIERS:
            raise ConfigError(f"verifier must be one of {VERIFIERS}, not {self.verifier!r}")
        check_bounds(self)
        for value in (self.arxiv_date_from, self.arxiv_date_to):
            if value is not None and not _DATE.match(value):
                raise ConfigError(f"arXiv date filters must be YYYY-MM-DD, not {value!r}")
        if not self.request_deadline_s > 0:  # NaN fails too
            raise ConfigError("request_deadline_s must be > 0 seconds")
        if self.max_answer_chars < 1_000 or self.max_response_bytes < 10_000:
            raise ConfigError("max_answer_chars must be >= 1000 and max_response_bytes >= 10000")
        if self.ngram_range[0] < 1 or self.ngram_range[1] < self.ngram_range[0]:
            raise ConfigError("ngram_range must be (low, high) with 1 <= low <= high")

    def llm_for(self, role: str) -> Any:
        return self.role_llms.get(role, self.llm)

    @property
    def search_backend(self) -> str:
        """'local' or 'arxiv' for a named backend (a backend object is used as it is)."""
        if self.search != "auto":
            return self.search
        return "local" if self.corpus else "arxiv"

    def describe(self) -> dict[str, Any]:
        """The knobs as JSON-able values (model objects by their class name)."""

        def plain(value: Any) -> Any:
            if isinstance(value, str | int | float | bool) or value is None:
                return value
            if isinstance(value, tuple | list):
                return [plain(v) for v in value]
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, PolicyRules):
                return value.as_dict()
            return type(value).__name__

        return {f.name: plain(getattr(self, f.name)) for f in fields(self)}
