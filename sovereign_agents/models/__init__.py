"""Chat models and embeddings, the low-level pieces: NIM through
langchain-nvidia-ai-endpoints, any ``<provider>:<model>`` through LangChain's
``init_chat_model`` / ``init_embeddings``, or any LangChain object passed in through the Python API, the
structured-call ladder, the model-call cache, error classification. The engines that run the
roles with them live in ``engines`` (which imports this package; never the reverse)."""

from __future__ import annotations

from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel

from sovereign_agents.cache import cache_dir
from sovereign_agents.context import Context
from sovereign_agents.http_limits import HttpLimits, http_limits
from sovereign_agents.model_spec import ModelSpec
from sovereign_agents.models.call_cache import ModelCallCache
from sovereign_agents.models.nim_embeddings import ValidatedEmbeddings
from sovereign_agents.models.specs import (
    provider_embeddings as _provider_embeddings,
)
from sovereign_agents.models.specs import resolve_chat_model, resolve_nim_embeddings
from sovereign_agents.models.structured import CallPolicy

__all__ = ["model_setup", "nvidia_embeddings", "provider_embeddings", "resolve_chat_model"]


def model_setup(
    spec: Any, context: Context
) -> tuple[BaseChatModel, CallPolicy, ModelCallCache | None]:
    """A role's chat model under a run's context: the model, its retry policy, its cache."""
    model = resolve_chat_model(
        spec, context.models.llm_base_url, context.models.max_tokens, http_limits(context, "chat")
    )
    cache = (
        ModelCallCache(cache_dir(context.cache_dir) / "model-calls.sqlite")
        if context.models.model_cache
        else None
    )
    policy = CallPolicy(
        http_retries=context.models.model_http_retries,
        output_retries=context.models.model_output_retries,
        max_answer_chars=context.models.max_answer_chars,
        deadline_s=context.request_deadline_s,
    )
    return model, policy, cache


def nvidia_embeddings(
    model: str, base_url: str | None = None, limits: HttpLimits | None = None
) -> Embeddings:
    return ValidatedEmbeddings(resolve_nim_embeddings(model, base_url, limits))


def provider_embeddings(parsed: ModelSpec, base_url: str | None = None) -> Embeddings:
    """A ``<provider>:<model>`` embeddings model, validated like a NIM's."""
    return ValidatedEmbeddings(_provider_embeddings(parsed, base_url))
