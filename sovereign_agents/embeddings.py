"""The semantic index: embeddings of papers and goal, and the offline LSA engine.

``LSAEmbeddings`` is a LangChain ``Embeddings`` (TF-IDF + TruncatedSVD, L2-normalised), so
the index node treats it exactly like a NIM ``NVIDIAEmbeddings`` or any other provider.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from sovereign_agents.cache import (
    CacheInvalid,
    cache_dir,
    cached_arrays,
    expect_array,
    expect_meta,
    from_json_bytes,
    json_bytes,
)
from sovereign_agents.errors import ConfigError
from sovereign_agents.model_spec import parse_spec
from sovereign_agents.steps import Step
from sovereign_agents.text import ANALYZER_VERSION, analyze
from sovereign_agents.tracing import record_call, text_key

if TYPE_CHECKING:
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    from sovereign_agents.http_limits import HttpLimits

LSA_VERSION = 1  # the format of a cached corpus LSA (npz)
# a corpus LSA is fitted on at most this many papers, spread evenly over the corpus (all of
# a smaller one): the vectorizer and SVD of 2.8M abstracts would not fit in memory, and
# only the lexical candidates of a query are ever projected
LSA_SAMPLE = 20_000


def _vectorizer(vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer=analyze, sublinear_tf=True, min_df=1, vocabulary=vocabulary)


class LSAEmbeddings(Embeddings):
    """Latent semantic analysis: TF-IDF (sublinear) then truncated SVD, L2-normalised."""

    model = "lsa-tfidf-svd"

    def __init__(self, texts: list[str], dim: int = 128, seed: int = 0) -> None:
        import numpy as np
        from sklearn.decomposition import TruncatedSVD

        self.vectorizer = _vectorizer()
        matrix = self.vectorizer.fit_transform(texts)
        n_components = max(1, min(dim, matrix.shape[0] - 1, matrix.shape[1] - 1))
        svd = TruncatedSVD(n_components=n_components, random_state=seed)
        svd.fit(matrix)
        # TruncatedSVD.transform multiplies by components_.T, a strided view that scipy copies
        # on every call (dim x vocabulary floats); keep one contiguous copy instead
        self.projection = np.ascontiguousarray(svd.components_.T)
        self.dim = n_components
        self.fitted_on = len(texts)

    def to_arrays(self, **meta: Any) -> dict[str, np.ndarray]:
        """The fitted model as plain arrays (see ``from_arrays``); ``meta`` is the cache key."""
        import numpy as np

        vocabulary = self.vectorizer.vocabulary_
        terms = sorted(vocabulary, key=vocabulary.__getitem__)
        info = {"kind": "lsa", "version": LSA_VERSION, "fitted_on": self.fitted_on, **meta}
        return {
            "meta": json_bytes(info),
            "terms": json_bytes(terms),
            "idf": np.asarray(self.vectorizer.idf_, dtype=np.float64),
            "projection": self.projection,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], **key: Any) -> LSAEmbeddings:
        """A model from ``to_arrays`` output, checked against the ``key`` it must have been
        stored under (corpus hash, requested dim) and for shapes, dtypes and finite values."""
        import numpy as np

        meta = expect_meta(from_json_bytes(arrays["meta"]), kind="lsa", version=LSA_VERSION, **key)
        terms = from_json_bytes(arrays["terms"])
        if not isinstance(terms, list) or not terms or not all(isinstance(t, str) for t in terms):
            raise CacheInvalid("terms is not a list of strings")
        vocabulary = {t: i for i, t in enumerate(terms)}
        if len(vocabulary) != len(terms):
            raise CacheInvalid("duplicate terms")
        idf = expect_array(arrays, "idf", kind="f", shape=(len(terms),), finite=True)
        projection = expect_array(arrays, "projection", kind="f", shape=(len(terms), None))
        fitted_on = meta.get("fitted_on")
        if not isinstance(fitted_on, int) or not isinstance(meta.get("dim"), int):
            raise CacheInvalid("no fitted_on count or dim")
        # what __init__ fits for this dim, corpus size and vocabulary, exactly
        expected = max(1, min(meta["dim"], fitted_on - 1, len(terms) - 1))
        if projection.shape[1] != expected or not np.isfinite(projection).all():
            raise CacheInvalid(
                f"projection of shape {projection.shape}, expected {expected} columns"
            )
        if (idf < 1).any():
            raise CacheInvalid("idf weights below 1")
        model = cls.__new__(cls)
        model.vectorizer = _vectorizer(vocabulary)
        model.vectorizer.idf_ = idf.astype(np.float64)
        model.projection = np.ascontiguousarray(projection, dtype=np.float64)
        model.dim = int(projection.shape[1])
        model.fitted_on = fitted_on
        return model

    def _embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        vectors = np.asarray(self.vectorizer.transform(texts) @ self.projection)
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
    sha256: str,
    texts: list[str] | Callable[[], list[str]],
    dim: int,
    cache: str | None,
    notes: list[str] | None = None,
) -> LSAEmbeddings:
    """LSA fitted on a corpus (or its sample, ``BM25Index.sample(LSA_SAMPLE)``), cached on disk (npz) by the corpus hash, the dim and the
    analyzer version.

    ``texts`` may be a function, called only when the model has to be fitted. A damaged or
    mismatched cache file is refitted; the note naming it is appended to ``notes``.
    """
    key = (sha256, dim)
    with _LSA_LOCK:
        if key not in _LSA_MEMO:
            path = lsa_cache_path(sha256, dim, cache)

            def fit() -> LSAEmbeddings:
                return LSAEmbeddings(texts() if callable(texts) else texts, dim=dim)

            cached = cached_arrays(
                path,
                build=fit,
                dump=lambda model: model.to_arrays(sha256=sha256, dim=dim),
                load=lambda arrays: LSAEmbeddings.from_arrays(arrays, sha256=sha256, dim=dim),
            )
            if cached.note and notes is not None:
                notes.append(cached.note)
            _LSA_MEMO[key] = cached.value
        return _LSA_MEMO[key]


def lsa_cache_path(sha256: str, dim: int, cache: str | None = None) -> Path:
    """Where the corpus LSA of this corpus sha256 and dimension is cached."""
    return cache_dir(cache) / f"lsa-v{LSA_VERSION}-{dim}-a{ANALYZER_VERSION}-{sha256[:24]}.npz"


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


def record_embeddings(model: Any, texts: list[str], vectors: list[list[float]]) -> None:
    """Record the vectors an embedding model returned, keyed by a hash of each text (in the
    trace, for replay)."""
    name, dim = describe_embeddings(model)
    record_call(
        {
            "kind": "embeddings",
            "model": name,
            "dim": dim,
            "fitted_on": getattr(model, "fitted_on", None),
            "vectors": {text_key(t): v for t, v in zip(texts, vectors, strict=True)},
        }
    )


def embedding_step(
    model: Embeddings, documents: list[str], query: str
) -> Step[tuple[list[list[float]], list[float]]]:
    """The documents' and the query's vectors, as a step: ``embed_documents`` and
    ``embed_query`` blocking, ``aembed_documents`` and ``aembed_query`` awaited (LangChain
    runs an embeddings class without its own async methods, LSA among them, in a worker
    thread)."""

    def run() -> tuple[list[list[float]], list[float]]:
        return model.embed_documents(documents), model.embed_query(query)

    async def arun() -> tuple[list[list[float]], list[float]]:
        return await model.aembed_documents(documents), await model.aembed_query(query)

    return Step(run, arun)


def cosine_to(query: list[float], documents: list[list[float]]) -> np.ndarray:
    """Cosine similarity of one query vector to each document vector."""
    import numpy as np

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


def check_embeddings_spec(spec: Any, base_url: str | None = None) -> None:
    """Fail early on a spec ``resolve_embeddings`` cannot use: an unknown string, or a
    ``<provider>:<model>`` whose client LangChain cannot build (provider unknown, package not
    installed, no key); building one sends no request."""
    if isinstance(spec, Embeddings):
        return
    parsed = parse_spec(spec, "embeddings")
    if parsed.kind == "provider":
        from sovereign_agents.models.specs import provider_embeddings

        provider_embeddings(parsed, base_url)
        return
    if parsed.kind != "object":
        return
    raise ConfigError(
        f"unknown embeddings spec {spec!r}: use 'lsa', 'nvidia:<model>', '<provider>:<model>', "
        "or pass an Embeddings object through the Python API"
    )


def resolve_embeddings(
    spec: Any, base_url: str | None = None, limits: HttpLimits | None = None
) -> Embeddings | str:
    """A spec -> an Embeddings object, or ``'lsa'`` (fitted later, on the run's texts)."""
    if isinstance(spec, Embeddings):
        return spec
    parsed = parse_spec(spec, "embeddings")
    if parsed.offline:
        return "lsa"
    if parsed.nvidia:
        from sovereign_agents.models import nvidia_embeddings

        return nvidia_embeddings(parsed.model, base_url, limits)
    if parsed.kind == "provider":
        from sovereign_agents.models import provider_embeddings

        return provider_embeddings(parsed, base_url)
    raise ConfigError(
        f"unknown embeddings spec {spec!r}: use 'lsa', 'nvidia:<model>', '<provider>:<model>', "
        "or pass an Embeddings object through the Python API"
    )
