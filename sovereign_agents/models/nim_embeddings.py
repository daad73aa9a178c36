"""Embeddings from a NIM, validated: flat, finite, one dimension across the batch.

Some OpenAI-compatible servers (llama.cpp without pooling) answer one vector per token; those
are mean-pooled into one vector per text, and the index records that it happened. Anything
else malformed raises ``EmbeddingsInvalid``, and the index node falls back to LSA.
"""

from __future__ import annotations

import math
from typing import Any

from langchain_core.embeddings import Embeddings

from sovereign_agents.models.specs import model_name


class EmbeddingsInvalid(ValueError):
    pass


def validate_vectors(raw: list[Any], expected: int) -> tuple[list[list[float]], bool]:
    """(one flat vector per text, whether token-level vectors were pooled)."""
    if len(raw) != expected:
        raise EmbeddingsInvalid(f"{len(raw)} vectors for {expected} texts")
    vectors: list[list[float]] = []
    pooled = False
    for item in raw:
        if item and isinstance(item[0], list | tuple):  # one vector per token: mean-pool
            width = {len(row) for row in item}
            if len(width) != 1:
                raise EmbeddingsInvalid("token vectors of different lengths")
            n = len(item)
            item = [sum(row[i] for row in item) / n for i in range(width.pop())]
            pooled = True
        if not item or not all(isinstance(x, int | float) and math.isfinite(x) for x in item):
            raise EmbeddingsInvalid("an embedding is empty or holds non-finite values")
        vectors.append([float(x) for x in item])
    if len({len(v) for v in vectors}) > 1:
        raise EmbeddingsInvalid("embeddings of different dimensions in one batch")
    return vectors, pooled


class ValidatedEmbeddings(Embeddings):
    def __init__(self, inner: Embeddings) -> None:
        self.inner = inner
        self.model = model_name(inner)
        self.dimensions: int | None = None
        self.pooled = False

    def _check(self, raw: list[Any], expected: int) -> list[list[float]]:
        vectors, pooled = validate_vectors(raw, expected)
        self.pooled = self.pooled or pooled
        if vectors:
            if self.dimensions not in (None, len(vectors[0])):
                raise EmbeddingsInvalid(
                    f"dimension changed from {self.dimensions} to {len(vectors[0])}"
                )
            self.dimensions = len(vectors[0])
        return vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._check(self.inner.embed_documents(texts), len(texts))

    def embed_query(self, text: str) -> list[float]:
        return self._check([self.inner.embed_query(text)], 1)[0]
