"""The semantic index: embeddings of papers and goal, and the offline LSA engine.

``LSAEmbeddings`` is a LangChain ``Embeddings`` (TF-IDF + TruncatedSVD, L2-normalised), so
the index node treats it exactly like a NIM ``NVIDIAEmbeddings`` or any other provider.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from sovereign_agents.cache import cache_dir, cached_pickle
from sovereign_agents.errors import ConfigError
from sovereign_agents.text import ANALYZER_VERSION, analyze


class LSAEmbeddings(Embeddings):
    """Latent semantic analysis: TF-IDF (sublinear) then truncated SVD, L2-normalised."""

    model = "lsa-tfidf-svd"

    def __init__(self, texts: list[str], dim: int = 128, seed: int = 0) -> None:
        self.vectorizer = TfidfVectorizer(analyzer=analyze, sublinear_tf=True, min_df=1)
        matrix = self.vectorizer.fit_transform(texts)
        n_components = max(1, min(dim, matrix.shape[0] - 1, matrix.shape[1] - 1))
        self.svd = TruncatedSVD(n_components=n_components, random_state=seed)
        self.svd.fit(matrix)
        self.dim = n_components
        self.fitted_on = len(texts)

    def _projection(self) -> np.ndarray:
        # TruncatedSVD.transform multiplies by components_.T, a strided view that scipy copies
        # on every call (dim x vocabulary floats); keep one contiguous copy instead
        projection: np.ndarray | None = getattr(self, "_projection_cache", None)
        if projection is None:
            projection = np.ascontiguousarray(self.svd.components_.T)
            self._projection_cache = projection
        return projection

    def _embed(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self.vectorizer.transform(texts) @ self._projection())
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)

    def matrix(self, texts: list[str]) -> np.ndarray:
        """Embeddings as one array (rows L2-normalised), without list conversion."""
        return self._embed(texts)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embed(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._embed([text])[0].tolist()


_LSA_MEMO: dict[tuple[str, int], LSAEmbeddings] = {}
_LSA_LOCK = threading.Lock()


def corpus_lsa(
    sha256: str, texts: list[str] | Callable[[], list[str]], dim: int, cache: str | None
) -> LSAEmbeddings:
    """LSA fitted on a whole corpus, cached on disk by the corpus hash and the analyzer version.

    ``texts`` may be a function, called only when the model has to be fitted.
    """
    key = (sha256, dim)
    with _LSA_LOCK:
        if key not in _LSA_MEMO:
            path = Path(cache_dir(cache)) / f"lsa-{dim}-a{ANALYZER_VERSION}-{sha256[:24]}.pkl"

            def fit() -> LSAEmbeddings:
                return LSAEmbeddings(texts() if callable(texts) else texts, dim=dim)

            _LSA_MEMO[key], _ = cached_pickle(path, fit)
        return _LSA_MEMO[key]


def clear_memo() -> None:
    """Forget the LSA models held in this process (the disk cache stays)."""
    with _LSA_LOCK:
        _LSA_MEMO.clear()


def describe_embeddings(embeddings: Embeddings) -> tuple[str, int | None]:
    """(model name, dimension if known) of any LangChain Embeddings object."""
    if isinstance(embeddings, LSAEmbeddings):
        return embeddings.model, embeddings.dim
    name = getattr(embeddings, "model", None) or getattr(embeddings, "model_name", None)
    return str(name or type(embeddings).__name__), getattr(embeddings, "dimensions", None)


def cosine_to(query: list[float], documents: list[list[float]]) -> np.ndarray:
    """Cosine similarity of one query vector to each document vector."""
    q = np.asarray(query, dtype=np.float64)
    d = np.asarray(documents, dtype=np.float64)
    if d.size == 0:
        return np.zeros(0)
    if d.ndim != 2 or q.ndim != 1 or d.shape[1] != q.shape[0]:
        raise ValueError(f"embedding shapes do not match: query {q.shape}, documents {d.shape}")
    qn = np.linalg.norm(q) or 1.0
    dn = np.linalg.norm(d, axis=1)
    dn[dn == 0] = 1.0
    return np.asarray((d @ q) / (dn * qn))


def check_embeddings_spec(spec: Any) -> None:
    """Fail early, without building a client, on a spec ``resolve_embeddings`` cannot use."""
    if isinstance(spec, Embeddings) or spec in (None, "", "lsa"):
        return
    if isinstance(spec, str) and spec.startswith("nvidia:") and len(spec) > len("nvidia:"):
        return
    raise ConfigError(
        f"unknown embeddings spec {spec!r}: use 'lsa', 'nvidia:<model>', or pass an "
        "Embeddings object through the Python API"
    )


def resolve_embeddings(spec: Any, base_url: str | None = None) -> Embeddings | str:
    """A spec -> an Embeddings object, or ``'lsa'`` (fitted later, on the run's texts)."""
    if isinstance(spec, Embeddings):
        return spec
    if spec in (None, "", "lsa"):
        return "lsa"
    if isinstance(spec, str) and spec.startswith("nvidia:"):
        from sovereign_agents.models import nvidia_embeddings

        return nvidia_embeddings(spec.removeprefix("nvidia:"), base_url)
    raise ConfigError(
        f"unknown embeddings spec {spec!r}: use 'lsa', 'nvidia:<model>', or pass an "
        "Embeddings object through the Python API"
    )
