"""Model specs -> LangChain objects: ``nvidia:<model>`` or any object passed in."""

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
from sovereign_agents.model_spec import parse_spec
from sovereign_agents.models.errors import note_retry_after

_CHAT: dict[tuple[str, str | None, bool, int, HttpLimits], BaseChatModel] = {}
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
    ``limits`` (default: the default context's ``http_limits(..., "chat")``)."""
    if isinstance(spec, BaseChatModel):
        return spec
    parsed = parse_spec(spec)
    if not parsed.nvidia:
        raise ConfigError(
            f"unknown llm spec {spec!r}: use 'extractive', 'nvidia:<model>', or pass a LangChain "
            "chat model through the Python API"
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
