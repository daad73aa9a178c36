"""Caches heal and never run code: the BM25 index, the corpus LSA and the arXiv results.

Each cache file is damaged the ways a disk, a crash or an attacker damages it (truncated,
random bytes, a well-formed file of the wrong kind, a planted pickle whose unpickling would
create a marker) before a run; the run must end exactly as a clean run does, name the file it
rebuilt in its Uncertainties, and leave no marker behind.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sovereign_agents import Context
from sovereign_agents.cache import cached_arrays
from sovereign_agents.corpus import file_sha256
from sovereign_agents.embeddings import LSAEmbeddings, corpus_lsa, lsa_cache_path
from sovereign_agents.embeddings import clear_memo as clear_lsa_memo
from sovereign_agents.runner import run_research
from sovereign_agents.search import arxiv_api
from sovereign_agents.search.local import INDEX_VERSION, index_cache_path
from sovereign_agents.search.local import clear_memo as clear_index_memo

GOAL = "How does sparse mixture-of-experts routing reduce inference cost?"
ARXIV_GOAL = "How do video diffusion models speed up generation?"


class Plant:
    """A pickle that, if ever unpickled, creates the directory ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (self.marker,))


def plant(path: Path, marker: Path) -> None:
    path.write_bytes(pickle.dumps(Plant(marker)))


def test_the_planted_pickle_would_run(tmp_path: Path) -> None:
    """The attack in these tests is real: unpickling the payload does create the marker."""
    plant(tmp_path / "p.pkl", tmp_path / "proof")
    pickle.loads((tmp_path / "p.pkl").read_bytes())
    assert (tmp_path / "proof").is_dir()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, daily_corpus: Path) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "c.jsonl"
    path.write_text("\n".join(daily_corpus.read_text().splitlines()[:400]) + "\n")
    return path


def outcome(report: dict[str, Any]) -> tuple[Any, ...]:
    return (
        report["verdict"],
        report["policy"],
        report["tribunal"]["score"],
        [(c["id"], c["verified"], c["confidence"]) for c in report["claims"]],
        [p["id"] for p in report["papers"]],
    )


def local_run(corpus: Path, cache: Path, out: Path) -> dict[str, Any]:
    clear_index_memo()  # a new process: nothing held in memory
    clear_lsa_memo()
    result = run_research(GOAL, Context(corpus=str(corpus), cache_dir=str(cache)), out)
    assert result.report_json is not None
    report: dict[str, Any] = json.loads(result.report_json.read_text())
    return report


@pytest.fixture(scope="module")
def clean(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """A run with an empty cache (which it fills), and the cache folder."""
    cache = tmp_path_factory.mktemp("clean-cache")
    report = local_run(corpus, cache, tmp_path_factory.mktemp("clean") / "run")
    sha = file_sha256(corpus)
    assert index_cache_path(sha, str(cache)).is_file()
    assert lsa_cache_path(sha, 128, str(cache)).is_file()
    return report, cache


def truncated(good: Path, target: Path, marker: Path) -> None:
    data = good.read_bytes()
    target.write_bytes(data[: len(data) // 2])


def random_bytes(good: Path, target: Path, marker: Path) -> None:
    target.write_bytes(np.random.default_rng(7).bytes(4096))


def planted_pickle(good: Path, target: Path, marker: Path) -> None:
    plant(target, marker)


def lsa_of_other_dim(good: Path, target: Path, marker: Path) -> None:
    """A well-formed LSA file, but fitted at another dimension (the verdict-changing case)."""
    with np.load(good) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays["meta"].tobytes())
    model = LSAEmbeddings.from_arrays(arrays, sha256=meta["sha256"], dim=meta["dim"])
    other = model.to_arrays(sha256=meta["sha256"], dim=meta["dim"])
    other["projection"] = np.ascontiguousarray(model.projection[:, :16])
    np.savez(target, **other)  # type: ignore[arg-type]


def nan_weights(good: Path, target: Path, marker: Path) -> None:
    """The right file with its numbers poisoned (valid npz, right key, NaN inside)."""
    with np.load(good) as z:
        arrays = {k: z[k] for k in z.files}
    name = "data" if "data" in arrays else "projection"
    arrays[name] = arrays[name].copy()
    arrays[name].flat[0] = np.nan
    np.savez(target, **arrays)


def patched_index(
    good: Path, target: Path, name: str, change: Callable[[np.ndarray], None]
) -> None:
    """The right index file (whole, right key) with its array ``name`` changed in place."""
    data = bytearray(good.read_bytes())
    length = int.from_bytes(data[8:16], "little")
    spec = json.loads(data[16 : 16 + length])["arrays"][name]
    at = -(-(16 + length) // 64) * 64 + int(spec["offset"])
    values = np.frombuffer(data, dtype=spec["dtype"], count=spec["shape"][0], offset=at).copy()
    change(values)
    data[at : at + values.nbytes] = values.tobytes()
    target.write_bytes(bytes(data))


def nan_index_weights(good: Path, target: Path, marker: Path) -> None:
    """The right index file with its first weight poisoned (NaN inside)."""
    patched_index(good, target, "data", lambda weights: weights.__setitem__(0, np.nan))


def lying_max_weights(good: Path, target: Path, marker: Path) -> None:
    """The right index file whose per-term bounds lie: every max weight halved (finite,
    plausible), which would let the pruned top-k skip papers that belong in it."""
    patched_index(good, target, "max_weight", lambda bounds: bounds.__imul__(np.float32(0.5)))


def lsa_file_as_index(good: Path, target: Path, marker: Path) -> None:
    """A valid cache file of the wrong kind: the LSA npz where the BM25 index belongs."""
    lsa = next(good.parent.glob("lsa-*.npz"))
    shutil.copyfile(lsa, target)


Damage = Callable[[Path, Path, Path], None]
INDEX_DAMAGE: list[Damage] = [
    truncated,
    random_bytes,
    planted_pickle,
    lsa_file_as_index,
    nan_index_weights,
    lying_max_weights,
]
LSA_DAMAGE: list[Damage] = [truncated, random_bytes, planted_pickle, lsa_of_other_dim, nan_weights]


def seeded_cache(clean_cache: Path, tmp_path: Path) -> Path:
    cache = tmp_path / "cache"
    shutil.copytree(clean_cache, cache)
    return cache


@pytest.mark.parametrize("damage", INDEX_DAMAGE, ids=lambda d: d.__name__)
def test_damaged_index_cache_is_rebuilt_and_the_run_ends_as_a_clean_one(
    damage: Damage, corpus: Path, clean: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    reference, clean_cache = clean
    cache = seeded_cache(clean_cache, tmp_path)
    target = index_cache_path(file_sha256(corpus), str(cache))
    marker = tmp_path / "pwned"
    damage(target, target, marker)
    report = local_run(corpus, cache, tmp_path / "run")
    assert not marker.exists()
    assert outcome(report) == outcome(reference)
    notes = [u["message"] for u in report["uncertainties"] if target.name in u["message"]]
    assert notes and "rebuilt" in notes[0]
    # the rebuilt file is good: the next run loads it without a note
    again = local_run(corpus, cache, tmp_path / "again")
    assert not any(target.name in u["message"] for u in again["uncertainties"])
    assert outcome(again) == outcome(reference)


@pytest.mark.parametrize("damage", LSA_DAMAGE, ids=lambda d: d.__name__)
def test_damaged_lsa_cache_is_refitted_and_the_run_ends_as_a_clean_one(
    damage: Damage, corpus: Path, clean: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    reference, clean_cache = clean
    cache = seeded_cache(clean_cache, tmp_path)
    target = lsa_cache_path(file_sha256(corpus), 128, str(cache))
    marker = tmp_path / "pwned"
    damage(target, target, marker)
    report = local_run(corpus, cache, tmp_path / "run")
    assert not marker.exists()
    assert outcome(report) == outcome(reference)
    notes = [u["message"] for u in report["uncertainties"] if target.name in u["message"]]
    assert notes and "rebuilt" in notes[0]


def test_pickles_at_the_old_cache_paths_are_never_read(
    corpus: Path, clean: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    """The files earlier versions unpickled (bm25-v3-*.pkl, lsa-128-*.pkl) are ignored."""
    sha = file_sha256(corpus)
    cache = tmp_path / "cache"
    cache.mkdir()
    marker = tmp_path / "pwned"
    for name in (f"bm25-v{INDEX_VERSION - 1}-{sha[:24]}.pkl", f"lsa-128-{sha[:24]}.pkl"):
        plant(cache / name, marker)
    report = local_run(corpus, cache, tmp_path / "run")
    assert not marker.exists()
    assert outcome(report) == outcome(clean[0])


def test_cached_arrays_refuses_object_arrays_and_reads_without_pickle(tmp_path: Path) -> None:
    path = tmp_path / "x.npz"
    np.savez(path, a=np.array([{"x": 1}], dtype=object))  # an npz that holds a pickle
    got = cached_arrays(
        path,
        build=lambda: 3,
        dump=lambda v: {"v": np.array([v])},
        load=lambda arrays: int(arrays["v"][0]),
    )
    assert (got.value, got.hit) == (3, False) and got.note and "x.npz" in got.note
    again = cached_arrays(path, build=lambda: 4, dump=lambda v: {}, load=lambda a: int(a["v"][0]))
    assert (again.value, again.hit, again.note) == (3, True, None)


def test_lsa_from_cache_embeds_exactly_as_the_fitted_model(tmp_path: Path) -> None:
    words = [
        "mixture",
        "experts",
        "routing",
        "sparse",
        "dense",
        "vision",
        "language",
        "token",
        "cost",
        "speed",
    ]
    rng = np.random.default_rng(3)
    texts = [" ".join(rng.choice(words, size=6)) for _ in range(30)]
    fitted = corpus_lsa("f" * 64, texts, 8, str(tmp_path))
    clear_lsa_memo()
    loaded = corpus_lsa("f" * 64, lambda: pytest.fail("refitted"), 8, str(tmp_path))
    probe = ["sparse experts", "dense language model"]
    assert np.array_equal(fitted.matrix(probe), loaded.matrix(probe))


# ------------------------------------------------------------------------------------------
# arXiv results (SQLite, JSON values)


def arxiv_run(replay: Any, cache: Path, out: Path) -> dict[str, Any]:
    arxiv_api._BACKENDS.clear()  # a new process: the results database is opened afresh
    context = Context(arxiv_api_url=replay.url, arxiv_interval=0.0, cache_dir=str(cache))
    result = run_research(ARXIV_GOAL, context, out)
    assert result.report_json is not None
    report: dict[str, Any] = json.loads(result.report_json.read_text())
    return report


def other_schema(good: Path, target: Path, marker: Path) -> None:
    """A valid SQLite database, but not this cache's (another table, no version)."""
    target.unlink()
    with sqlite3.connect(target) as db:
        db.execute("CREATE TABLE calls (key TEXT, value BLOB)")


def poisoned_rows(good: Path, target: Path, marker: Path) -> None:
    """The right database and keys, with values that are not search results."""
    with sqlite3.connect(target) as db:
        db.execute("""UPDATE results SET value = '[[{"id": 1}, "x"]]'""")


ARXIV_DAMAGE: list[Damage] = [truncated, random_bytes, planted_pickle, other_schema, poisoned_rows]


@pytest.mark.parametrize("damage", ARXIV_DAMAGE, ids=lambda d: d.__name__)
def test_damaged_arxiv_cache_is_replaced_and_the_run_ends_as_a_clean_one(
    damage: Damage, arxiv_replay: Any, tmp_path: Path
) -> None:
    reference = arxiv_run(arxiv_replay, tmp_path / "clean-cache", tmp_path / "clean")
    target = tmp_path / "clean-cache" / "arxiv-results.sqlite"
    requests = len(arxiv_replay.requests)
    marker = tmp_path / "pwned"
    damage(target, target, marker)
    report = arxiv_run(arxiv_replay, tmp_path / "clean-cache", tmp_path / "run")
    assert not marker.exists()
    assert outcome(report) == outcome(reference)
    assert len(arxiv_replay.requests) > requests  # the results were fetched again
    notes = [u["message"] for u in report["uncertainties"] if target.name in u["message"]]
    assert notes, report["uncertainties"]
