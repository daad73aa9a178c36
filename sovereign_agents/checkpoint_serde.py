"""The checkpointer's serializer: LangGraph's own, with every blob redacted before it is stored.

Every checkpoint and every pending write a run's checkpointer saves passes through
``RedactingSerializer.dumps_typed``. Blobs that hold no secret (the usual case: model answers
are redacted where they enter the run) are stored byte for byte as LangGraph made them; a blob
that does is decoded, every string in it (map keys and nested extension payloads, such as the
fields of pydantic models and LangChain messages, included) is redacted, and it is encoded
again, so it still loads.
"""

from __future__ import annotations

import json
from typing import Any

import ormsgpack
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from sovereign_agents.redaction import has_secret, redact_bytes, redact_data, secret_values

_OPTIONS = ormsgpack.OPT_NON_STR_KEYS


def redact_msgpack(data: bytes, secrets: list[str]) -> bytes:
    """``data`` (msgpack, possibly with extension types holding msgpack) with its strings
    redacted."""

    def ext_hook(code: int, payload: bytes) -> ormsgpack.Ext:
        if not has_secret(payload, secrets):
            return ormsgpack.Ext(code, payload)
        try:
            return ormsgpack.Ext(code, redact_msgpack(payload, secrets))
        except (ormsgpack.MsgpackDecodeError, ormsgpack.MsgpackEncodeError, TypeError):
            return ormsgpack.Ext(code, redact_bytes(payload, secrets))

    value = ormsgpack.unpackb(data, ext_hook=ext_hook, option=_OPTIONS)
    return ormsgpack.packb(redact_data(value, secrets), option=_OPTIONS)


class RedactingSerializer(JsonPlusSerializer):
    """``JsonPlusSerializer`` (same allowlist, same loading) whose output carries no secret.

    A subclass rather than a wrapper, so LangGraph's ``with_msgpack_allowlist`` (strict
    msgpack mode) clones it and keeps the redaction."""

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        type_, data = super().dumps_typed(obj)
        secrets = secret_values()
        if not has_secret(data, secrets):
            return type_, data
        if type_ == "msgpack":
            return type_, redact_msgpack(data, secrets)
        if type_ == "json":
            redacted = redact_data(json.loads(data), secrets)
            return type_, json.dumps(redacted, ensure_ascii=False).encode()
        return type_, redact_bytes(data, secrets)
