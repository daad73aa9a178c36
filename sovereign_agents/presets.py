"""Named context presets: ready setups for a run, by name.

``sovereign run --preset NAME`` (also ``resume`` / ``fork``) and ``Context.preset(NAME,
**overrides)`` start from a preset; explicit options and ``--set`` knobs win over it. A preset
is a set of grouped knob values (``{"search": {"max_papers": 12}, ...}``) read when it is used
(the self-hosted one takes its URL from the environment), plus what must hold once the
overrides are applied (a NIM preset without a key or URL is refused before anything runs).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sovereign_agents.errors import ConfigError

NIM_CHAT = "nvidia:meta/llama-3.3-70b-instruct"
NIM_EMBEDDINGS = "nvidia:nvidia/nv-embedqa-e5-v5"  # the reference's embedding model, 1024-d
HOSTED_NIM_URL = "https://integrate.api.nvidia.com/v1"

Check = Callable[[Any], str | None]  # a built Context -> what is wrong with it, or None


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    values: Callable[[], dict[str, Any]]
    checks: tuple[Check, ...] = field(default=())

    def check(self, context: Any) -> None:
        for check in self.checks:
            problem = check(context)
            if problem:
                raise ConfigError(f"preset {self.name}: {problem}")


def _offline() -> dict[str, Any]:
    return {"models": {"llm": "extractive", "embeddings": "lsa"}}


def _nim_hosted() -> dict[str, Any]:
    return {
        "models": {"llm": NIM_CHAT, "embeddings": NIM_EMBEDDINGS, "llm_base_url": HOSTED_NIM_URL}
    }


def _nim_selfhosted() -> dict[str, Any]:
    spec = os.environ.get("SOVEREIGN_LLM") or ""
    return {
        "models": {
            "llm": spec if spec.startswith("nvidia:") else NIM_CHAT,
            "embeddings": "lsa",  # a chat NIM serves no embeddings; --set embeddings=nvidia:...
            "llm_base_url": os.environ.get("NVIDIA_BASE_URL") or None,
        }
    }


def _reference() -> dict[str, Any]:
    """The reference reports' setup (../shared/reference, DESIGN.md): 4 parallel queries,
    12 papers, TF-IDF cosine on word uni+bigrams with threshold 0.15, a 3-role tribunal that
    revises once below 6.5. Offline models; the reference's NIM models compose with
    ``--llm`` / ``--set embeddings=...``."""
    return {
        "models": {"llm": "extractive", "embeddings": "lsa"},
        "search": {"n_queries": 4, "papers_per_query": 8, "max_papers": 12, "claims_per_paper": 3},
        "verification": {
            "verifier": "tfidf",
            "verify_threshold": 0.15,
            "ngram_range": (1, 2),
            "stance_judge": False,
        },
        "tribunal": {"approve_threshold": 6.5, "max_revisions": 1},
    }


def _needs_key(context: Any) -> str | None:
    if os.environ.get("NVIDIA_API_KEY"):
        return None
    return "hosted NIM needs NVIDIA_API_KEY in the environment"


def _needs_url(context: Any) -> str | None:
    if context.models.llm_base_url:
        return None
    return "a self-hosted NIM needs its URL: set NVIDIA_BASE_URL or --set llm_base_url=URL"


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "offline", "the default: extractive engine, LSA embeddings, hybrid verifier", _offline
        ),
        Preset(
            "nim-hosted",
            f"hosted NVIDIA NIM ({NIM_CHAT.removeprefix('nvidia:')}, {NIM_EMBEDDINGS.removeprefix('nvidia:')}); needs NVIDIA_API_KEY",
            _nim_hosted,
            (_needs_key,),
        ),
        Preset(
            "nim-selfhosted",
            "a self-hosted NIM at NVIDIA_BASE_URL (model: SOVEREIGN_LLM if nvidia:, else "
            f"{NIM_CHAT.removeprefix('nvidia:')}); LSA embeddings",
            _nim_selfhosted,
            (_needs_url,),
        ),
        Preset(
            "reference",
            "the reference's exact TF-IDF setup: verifier tfidf, uni+bigrams, threshold 0.15, "
            "4 queries, 12 papers, revise once below 6.5",
            _reference,
        ),
    )
}
DEFAULT_PRESET = "offline"


def preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}: use one of {', '.join(PRESETS)}")
    return PRESETS[name]
