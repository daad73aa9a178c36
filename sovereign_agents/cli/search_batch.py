"""The ``sovereign search --queries`` file format: one ``{"id", "query"}`` object per line in,
one ``{"id", "ranked"}`` per line out (kept apart from the command so ``--help`` needs no
pydantic)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sovereign_agents.errors import InputError


class BatchQuery(BaseModel):
    """One line of a ``--queries`` file."""

    model_config = ConfigDict(extra="ignore")

    id: str | int
    query: str = Field(min_length=1)


class BatchResult(BaseModel):
    """One line of the batch output."""

    id: str | int
    ranked: list[str]


def read_queries(path: Path) -> list[BatchQuery]:
    """Parse a JSON Lines file of queries; a bad line is an ``InputError`` naming it."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read queries file {path}: {exc.strerror or exc}") from exc
    queries: list[BatchQuery] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            query = BatchQuery.model_validate_json(line)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "line"
            raise InputError(
                f'{path} line {number}: expected {{"id": ..., "query": "..."}} '
                f"({where}: {first['msg']})"
            ) from exc
        if not query.query.strip():
            raise InputError(f"{path} line {number}: the query is blank")
        queries.append(query)
    if not queries:
        raise InputError(f"{path}: no queries (expected JSON Lines of {{id, query}})")
    return queries
