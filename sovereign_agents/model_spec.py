"""The one parser of model specs: what ``llm``, ``role_llms`` and ``embeddings`` values mean.

A spec is the offline choice (``extractive`` for a role, ``lsa`` for embeddings; also ``None``
or ``""``), ``nvidia:<model>`` (a NIM: hosted with NVIDIA_API_KEY, or self-hosted at a base
URL), or an object passed through the Python API (a LangChain chat model or ``Embeddings``,
an engine such as ``testing.ScriptedEngine``). Any other string is a ``ConfigError``.
No project imports beyond errors: every layer (engines, models, embeddings, runner, replay)
can use it without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sovereign_agents.errors import ConfigError

NVIDIA = "nvidia:"
OFFLINE = {"llm": "extractive", "embeddings": "lsa"}
_OBJECT = {"llm": "a LangChain chat model", "embeddings": "an Embeddings object"}

SpecKind = Literal["offline", "nvidia", "object"]


@dataclass(frozen=True)
class ModelSpec:
    kind: SpecKind
    value: Any  # the spec as given
    model: str = ""  # the NIM model of an nvidia: spec

    @property
    def offline(self) -> bool:
        return self.kind == "offline"

    @property
    def nvidia(self) -> bool:
        return self.kind == "nvidia"


def is_offline(spec: Any, what: Literal["llm", "embeddings"] = "llm") -> bool:
    """The offline choice: ``extractive`` (``lsa`` for embeddings), or none given."""
    return spec is None or (isinstance(spec, str) and spec in ("", OFFLINE[what]))


def parse_spec(spec: Any, what: Literal["llm", "embeddings"] = "llm", where: str = "") -> ModelSpec:
    """``spec`` parsed; an unknown string raises ConfigError (``where``: e.g. ' for role x')."""
    if is_offline(spec, what):
        return ModelSpec("offline", spec)
    if not isinstance(spec, str):
        return ModelSpec("object", spec)
    if spec.startswith(NVIDIA) and len(spec) > len(NVIDIA):
        return ModelSpec("nvidia", spec, spec.removeprefix(NVIDIA))
    raise ConfigError(
        f"unknown {what} spec {spec!r}{where}: use '{OFFLINE[what]}', 'nvidia:<model>', or pass "
        f"{_OBJECT[what]} through the Python API"
    )


def is_spec_string(spec: str, what: Literal["llm", "embeddings"] = "llm") -> bool:
    """A string that names a model (not an object's recorded class name)."""
    try:
        return parse_spec(spec, what).kind != "object"
    except ConfigError:
        return False
