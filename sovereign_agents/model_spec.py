"""The one parser of model specs: what ``llm``, ``role_llms`` and ``embeddings`` values mean.

A spec is the offline choice (``extractive`` for a role, ``lsa`` for embeddings; also ``None``
or ``""``), ``nvidia:<model>`` (a NIM: hosted with NVIDIA_API_KEY, or self-hosted at a base
URL; our own client set-up, see ``models/specs.py``), any other ``<provider>:<model>`` of
LangChain's ``init_chat_model`` / ``init_embeddings`` (``openai:gpt-4o-mini``,
``ollama:llama3.2``, ``anthropic:claude-…``: the provider's package must be installed), or an
object passed through the Python API (a LangChain chat model or ``Embeddings``, an engine such
as ``testing.ScriptedEngine``). Any other string is a ``ConfigError``.
No project imports beyond errors: every layer (engines, models, embeddings, runner, replay)
can use it without an import cycle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from sovereign_agents.errors import ConfigError

NVIDIA = "nvidia:"
OFFLINE = {"llm": "extractive", "embeddings": "lsa"}
_OBJECT = {"llm": "a LangChain chat model", "embeddings": "an Embeddings object"}
# LangChain's provider keys are lower-case words (openai, azure_openai, google_genai, ...)
_PROVIDER_SPEC = re.compile(r"^([a-z][a-z0-9_]*):(\S.*)$")

SpecKind = Literal["offline", "nvidia", "provider", "object"]


@dataclass(frozen=True)
class ModelSpec:
    kind: SpecKind
    value: Any  # the spec as given
    model: str = ""  # the model name of an nvidia: or provider: spec
    provider: str = ""  # 'nvidia', or the LangChain provider of a provider: spec

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
    """``spec`` parsed; an unknown string raises ConfigError (``where``: e.g. ' for role x').
    A ``provider:model`` string is only parsed here: whether LangChain knows the provider and
    its package is installed is checked when the model is built (``models.specs``)."""
    if is_offline(spec, what):
        return ModelSpec("offline", spec)
    if not isinstance(spec, str):
        return ModelSpec("object", spec)
    if spec.startswith(NVIDIA) and len(spec) > len(NVIDIA):
        return ModelSpec("nvidia", spec, spec.removeprefix(NVIDIA), "nvidia")
    match = _PROVIDER_SPEC.match(spec)
    if match and match.group(1) != "nvidia" and spec == spec.strip():
        return ModelSpec("provider", spec, match.group(2), match.group(1))
    raise ConfigError(
        f"unknown {what} spec {spec!r}{where}: use '{OFFLINE[what]}', 'nvidia:<model>', "
        f"'<provider>:<model>' (LangChain's init_{'chat_model' if what == 'llm' else what}, "
        f"e.g. 'openai:<model>'), or pass {_OBJECT[what]} through the Python API"
    )


def is_spec_string(spec: str, what: Literal["llm", "embeddings"] = "llm") -> bool:
    """A string that names a model (not an object's recorded class name)."""
    try:
        return parse_spec(spec, what).kind != "object"
    except ConfigError:
        return False
