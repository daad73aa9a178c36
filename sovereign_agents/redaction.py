"""Credentials never leave the process: redaction for everything a run writes.

Applied where model answers enter the run (``models.structured``), to trace lines, run.json
and report files, to every ``Uncertainty`` message (which is how error texts reach the state),
to the model-call cache, and, as the last guard, to every checkpoint blob and pending write
(``checkpoint_serde.RedactingSerializer``).

A secret is a known key shape (``nvapi-…``, ``sk-…``, ``Bearer …``), the password of a URL
(``postgresql://user:PASSWORD@host/db``), or the value of an
environment variable whose name says it is one (``*KEY*``, ``*TOKEN*``, ``*SECRET*``, …), also
in base64 (at any of the three byte alignments), so an echoed or encoded key is caught too.
"""

from __future__ import annotations

import base64
import os
import re
from typing import Any

MARK = "[REDACTED]"
_SECRET_ENV = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL)", re.IGNORECASE)
# key shapes, not preceded by a letter or digit (so "task-specific-fine-tuning" is prose)
_SECRET_PATTERN = re.compile(
    r"(?<![A-Za-z0-9])(?:nvapi-[A-Za-z0-9_\-]{8,}|sk-[A-Za-z0-9_\-]{16,})"
    r"|\bBearer\s+[A-Za-z0-9._\-]{8,}"
)
_SECRET_BYTES = re.compile(_SECRET_PATTERN.pattern.encode())
# the password in a URL's user part: scheme://user:PASSWORD@host
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)[^\s/@]+(?=@)")
MIN_SECRET = 8  # shorter env values are not treated as secrets (too many false matches)


def _base64_forms(value: str) -> list[str]:
    """The parts of ``value``'s base64 that any encoding of a text holding it contains, at
    each of the three byte alignments (the groups mixing in neighbouring bytes dropped)."""
    raw = value.encode()
    forms: list[str] = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode()
        whole = (shift + len(raw)) // 3 * 4  # characters made only of complete groups
        core = encoded[4 if shift else 0 : whole]
        if len(core) >= 12:
            forms += [core, core.replace("+", "-").replace("/", "_")]
    return forms


def secret_values() -> list[str]:
    """Values of secret-looking environment variables and their base64 forms, longest first."""
    values: set[str] = set()
    for name, value in os.environ.items():
        if value and len(value) >= MIN_SECRET and _SECRET_ENV.search(name):
            values.add(value)
            values.update(_base64_forms(value))
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    """Remove credentials: known key shapes and the values of secret-looking env variables."""
    for value in secret_values() if secrets is None else secrets:
        if value in text:
            text = text.replace(value, MARK)
    return _SECRET_PATTERN.sub(MARK, _URL_PASSWORD.sub(rf"\g<1>{MARK}", text))


def redact_bytes(data: bytes, secrets: list[str] | None = None) -> bytes:
    for value in secret_values() if secrets is None else secrets:
        data = data.replace(value.encode(), MARK.encode())
    return _SECRET_BYTES.sub(MARK.encode(), data)


def has_secret(data: bytes, secrets: list[str] | None = None) -> bool:
    """Whether ``data`` (any encoding that keeps UTF-8 text as it is) holds a secret."""
    values = secret_values() if secrets is None else secrets
    return any(v.encode() in data for v in values) or _SECRET_BYTES.search(data) is not None


def redact_data(value: Any, secrets: list[str] | None = None) -> Any:
    """``value`` (JSON-like: dicts, lists, tuples, strings, bytes) with every string redacted,
    keys included."""
    secrets = secret_values() if secrets is None else secrets
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, bytes):
        return redact_bytes(value, secrets)
    if isinstance(value, dict):
        return {redact_data(k, secrets): redact_data(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_data(v, secrets) for v in value]
    if isinstance(value, tuple):
        return tuple(redact_data(v, secrets) for v in value)
    return value
