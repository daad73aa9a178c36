"""Model specs -> LangChain objects: ``nvidia:<model>`` (our NIM set-up), any other
``<provider>:<model>`` through LangChain's ``init_chat_model`` / ``init_embeddings``, or any
object passed in.

A provider spec's client follows the provider's own conventions for its key and endpoint
(``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``, ``ANTHROPIC_API_KEY``, ``OLLAMA_HOST``...); the
run's ``llm_base_url`` (``--llm-base-url``), when set, is passed as the client's ``base_url``
and wins over them. Temperature 0, ``max_tokens``, the request deadline, and no client-side
retries (the call ladder in ``structured.py`` retries, once: attempts never multiply).
A provider whose package is not installed is one ``ConfigError`` line naming the pip package.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import requests
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel

from sovereign_agents.context import Context
from sovereign_agents.errors import ConfigError
from sovereign_agents.http_limits import HttpLimits, bound_session, http_limits
from sovereign_agents.model_spec import ModelSpec, parse_spec
from sovereign_agents.models.errors import note_retry_after

_CHAT: dict[tuple[str, str | None, bool, int, HttpLimits], BaseChatModel] = {}
# providers whose chat class names the answer-length knob differently
_MAX_TOKENS_KEY = {"ollama": "num_predict", "google_genai": "max_output_tokens"}
# providers whose chat class takes ``timeout`` and ``max_retries`` (the OpenAI/Anthropic SDKs)
_SDK_CLIENTS = {"openai", "azure_openai", "anthropic", "deepseek", "xai", "groq", "together"}
_LOCK = threading.Lock()


def telemetry_enabled() -> bool:
    """NVIDIA client usage telemetry: off unless the user turns it on."""
    return os.environ.get("SOVEREIGN_NVIDIA_TELEMETRY", "").lower() in {"1", "true", "yes", "on"}


def nim_endpoint(base_url: str | None) -> tuple[str | None, str | None]:
    """(base_url, api_key) for a NIM: self-hosted via base URL, else hosted with a key."""
    url = base_url or os.environ.get("NVIDIA_BASE_URL") or None
    key = os.environ.get("NVIDIA_API_KEY") or None
    if url is None and key is None:
        raise ConfigError(
            "an nvidia: model needs NVIDIA_API_KEY (hosted NIM) or NVIDIA_BASE_URL / "
            "--llm-base-url (self-hosted NIM)"
        )
    return url, key or "not-needed-for-self-hosted"


def model_name(model: Any) -> str:
    for attribute in ("model", "model_name", "model_id"):
        value = getattr(model, attribute, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


def endpoint_of(model: Any) -> str:
    """Where a chat model's requests go (its base URL), or its class for an in-process
    model: part of every model-call cache key, so two servers never share answers."""
    for owner in (model, getattr(model, "_client", None), getattr(model, "client", None)):
        for attribute in ("base_url", "openai_api_base", "api_base", "endpoint", "endpoint_url"):
            value = getattr(owner, attribute, None)
            if isinstance(value, str) and value:
                return value.rstrip("/")
    return f"{type(model).__module__}.{type(model).__qualname__}"


def instrument_http(model: Any, limits: HttpLimits) -> None:
    """Bound every HTTP request of an NVIDIA client (deadline, body size: ``http_limits``) and
    keep a failed response's Retry-After."""
    client = getattr(model, "_client", None)
    make = getattr(client, "get_session_fn", None)
    if client is None or make is None:
        return
    if isinstance(getattr(client, "timeout", None), int | float):
        client.timeout = min(client.timeout, limits.deadline_s)  # also bounds 202 polling

    def bounded_session() -> requests.Session:
        session = bound_session(make(), limits)

        def remember(response: requests.Response, *args: Any, **kwargs: Any) -> None:
            if response.status_code >= 400:
                note_retry_after(response.headers.get("Retry-After"))

        session.hooks["response"].append(remember)
        return session

    client.get_session_fn = bounded_session
    # its aiohttp session (ainvoke) is not bounded: models.structured calls it blocking instead
    bounded_session.bounds_blocking_only = True  # type: ignore[attr-defined]


def resolve_chat_model(
    spec: Any,
    base_url: str | None = None,
    max_tokens: int = 1024,
    limits: HttpLimits | None = None,
) -> BaseChatModel:
    """A chat model for ``spec``; an ``nvidia:`` model's HTTP requests are bounded by
    ``limits`` (default: the default context's ``http_limits(..., "chat")``), a provider
    model's by its client's timeout (the same deadline)."""
    if isinstance(spec, BaseChatModel):
        return spec
    parsed = parse_spec(spec)
    if parsed.kind == "provider":
        limits = limits or http_limits(Context(), "chat")
        cache_key = (spec, base_url, False, max_tokens, limits)
        with _LOCK:
            if cache_key not in _CHAT:
                _CHAT[cache_key] = provider_chat_model(parsed, base_url, max_tokens, limits)
            return _CHAT[cache_key]
    if not parsed.nvidia:
        raise ConfigError(
            f"unknown llm spec {spec!r}: use 'extractive', 'nvidia:<model>', "
            "'<provider>:<model>', or pass a LangChain chat model through the Python API"
        )
    url, key = nim_endpoint(base_url)
    limits = limits or http_limits(Context(), "chat")
    cache_key = (spec, url, telemetry_enabled(), max_tokens, limits)
    with _LOCK:
        if cache_key not in _CHAT:
            from langchain_nvidia_ai_endpoints import ChatNVIDIA

            try:
                _CHAT[cache_key] = model = ChatNVIDIA(
                    model=parsed.model,
                    base_url=url,
                    api_key=key,
                    temperature=0.0,
                    max_completion_tokens=max_tokens,
                    usage_telemetry_enabled=telemetry_enabled(),
                )
            except Exception as exc:  # the client validates the model name and URL
                raise ConfigError(f"cannot use {spec}: {exc}") from exc
            instrument_http(model, limits)
        return _CHAT[cache_key]


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:400]


def provider_chat_model(
    parsed: ModelSpec, base_url: str | None, max_tokens: int, limits: HttpLimits
) -> BaseChatModel:
    """``<provider>:<model>`` through ``init_chat_model``: ConfigError (one line, naming the
    pip package when it is missing) if LangChain cannot build it."""
    from langchain.chat_models import init_chat_model

    kwargs: dict[str, Any] = {
        "temperature": 0.0,
        _MAX_TOKENS_KEY.get(parsed.provider, "max_tokens"): max_tokens,
    }
    if parsed.provider in _SDK_CLIENTS:
        kwargs.update(timeout=limits.deadline_s, max_retries=0)
    if base_url:
        kwargs["base_url"] = base_url
    try:
        return init_chat_model(parsed.model, model_provider=parsed.provider, **kwargs)
    except Exception as exc:  # package missing ("... pip install langchain-x"), unknown
        # provider, no API key, an argument the client refuses: LangChain's own words
        raise ConfigError(f"cannot use llm {parsed.value}: {_one_line(exc)}") from exc


def provider_embeddings(parsed: ModelSpec, base_url: str | None = None) -> Embeddings:
    """``<provider>:<model>`` embeddings through ``init_embeddings`` (ConfigError as above)."""
    from langchain.embeddings import init_embeddings

    kwargs: dict[str, Any] = {"base_url": base_url} if base_url else {}
    if parsed.provider == "openai":
        # send text, not tiktoken ids: what other OpenAI-compatible servers (llama.cpp, vLLM)
        # accept, and tiktoken would download its encodings on first use
        kwargs["check_embedding_ctx_length"] = False
    try:
        return init_embeddings(parsed.model, provider=parsed.provider, **kwargs)
    except Exception as exc:  # as for chat models
        raise ConfigError(f"cannot use embeddings {parsed.value}: {_one_line(exc)}") from exc


def resolve_nim_embeddings(
    model: str, base_url: str | None = None, limits: HttpLimits | None = None
) -> Embeddings:
    from langchain_nvidia_ai_endpoints import NVIDIAEmbeddings

    url, key = nim_endpoint(base_url)
    try:
        embeddings = NVIDIAEmbeddings(
            model=model,
            base_url=url,
            api_key=key,
            truncate="END",
            usage_telemetry_enabled=telemetry_enabled(),
        )
    except Exception as exc:
        raise ConfigError(f"cannot use embeddings nvidia:{model}: {exc}") from exc
    instrument_http(embeddings, limits or http_limits(Context(), "embeddings"))
    return embeddings
