"""Classify model-call failures: what to retry, for how long, and what to give up on."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

_STATUS = re.compile(r"^\[(\d{3})\]|\b(?:status(?: code)?|HTTP)[ :=]+(\d{3})\b", re.IGNORECASE)
_RETRY_AFTER = re.compile(r"retry[- ]after[\"' :=]+(\d+(?:\.\d+)?)", re.IGNORECASE)
_UNSUPPORTED = re.compile(
    r"response_format|json_schema|structured output|tool_choice|tools? "
    r"(is|are) not supported|guided_json",
    re.IGNORECASE,
)
_CONNECTION = re.compile(
    r"connection (refused|reset|aborted|error)|max retries exceeded|"
    r"failed to establish|name or service not known|timed? ?out",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Failure:
    status: int | None
    retryable: bool
    unsupported: bool  # the request asked for a feature this server lacks (e.g. json_schema)
    retry_after: float | None
    message: str


def status_of(exc: BaseException) -> int | None:
    for attribute in ("status_code", "status"):
        value = getattr(exc, attribute, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None)
    if isinstance(value, int):
        return value
    match = _STATUS.search(str(exc))
    if match:
        return int(match.group(1) or match.group(2))
    return None


_HINT = threading.local()


def note_retry_after(value: str | None) -> None:
    """Remember the Retry-After of the last failed response on this thread (clients such as
    ChatNVIDIA raise plain exceptions that drop the headers)."""
    _HINT.value = value


def retry_after_of(exc: BaseException) -> float | None:
    hint = getattr(_HINT, "value", None)
    _HINT.value = None
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    value = headers.get("Retry-After") or headers.get("retry-after") if headers else None
    if value is None:
        match = _RETRY_AFTER.search(str(exc))
        value = match.group(1) if match else None
    value = value if value is not None else hint
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def classify(exc: BaseException) -> Failure:
    """429, 5xx and connection failures are retried; a 4xx/5xx about an unsupported request
    feature switches the request mode instead; anything else is final."""
    message = " ".join(str(exc).split())[:500]
    status = status_of(exc)
    unsupported = bool(_UNSUPPORTED.search(message)) and (status is None or status >= 400)
    unsupported = unsupported or isinstance(exc, NotImplementedError)
    connection = status is None and (
        isinstance(exc, TimeoutError)  # socket timeouts, and requests' Timeout via its name
        or bool(_CONNECTION.search(message))
        or type(exc).__name__
        in {
            "ConnectionError",
            "ConnectError",
            "Timeout",
            "ReadTimeout",
            "ConnectTimeout",
            "RequestDeadlineExceeded",
            "RemoteDisconnected",
        }
    )
    retryable = not unsupported and (
        status == 429 or (status is not None and status >= 500) or connection
    )
    return Failure(
        status=status,
        retryable=retryable,
        unsupported=unsupported,
        retry_after=retry_after_of(exc),
        message=message,
    )
