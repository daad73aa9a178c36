"""Credentials never leave the process: redaction for everything a run writes.

Applied to trace lines, report files, and every ``Uncertainty`` message (which is how error
texts reach the state, the checkpoints and the report).
"""

from __future__ import annotations

import os
import re

_SECRET_ENV = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL)", re.IGNORECASE)
_SECRET_PATTERN = re.compile(
    r"(nvapi-[A-Za-z0-9_\-]{8,}|sk-[A-Za-z0-9_\-]{16,}|Bearer\s+[A-Za-z0-9._\-]+)"
)


def redact(text: str) -> str:
    """Remove credentials: known key shapes and the values of secret-looking env variables."""
    for name, value in os.environ.items():
        if value and len(value) >= 8 and _SECRET_ENV.search(name):
            text = text.replace(value, "[REDACTED]")
    return _SECRET_PATTERN.sub("[REDACTED]", text)
