"""A throwaway PostgreSQL server for the tests: Debian's ``postgresql`` binaries, a cluster in
a temp folder, listening on loopback only (and a Unix socket in that folder), stopped and
deleted after.

The server refuses to run as root, so under root (CI, these machines) it runs as the
``postgres`` user that Debian's package creates. The superuser logs in with a password
(scram-sha-256), so the tests prove it never reaches a file or a terminal.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

USER = "sovereign"
PASSWORD = "pg-Pw-7c1e9b3f-never-printed"
DATABASE = "sovereign"


def binaries() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: Debian's versioned one, else the PATH's."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "pg_ctl").is_file() and Path(folder, "initdb").is_file():
            return Path(folder)
    pg_ctl, initdb = shutil.which("pg_ctl"), shutil.which("initdb")
    if pg_ctl and initdb:
        return Path(os.path.realpath(pg_ctl)).parent
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="sovereign-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.owner: str | None = None
        if os.geteuid() == 0:
            self.owner = "postgres"
            entry = pwd.getpwnam(self.owner)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    @property
    def url(self) -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{DATABASE}"

    def admin_url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            args,
            user=self.owner,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}\n{result.stderr}")

    def start(self) -> PostgresServer:
        pwfile = self.root / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        if self.owner:
            entry = pwd.getpwnam(self.owner)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            USER,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--no-sync",
        )
        pwfile.unlink()
        self.boot()
        self.create_database(DATABASE)
        return self

    def boot(self) -> None:
        """Start the server on the cluster (again, after ``crash``)."""
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "120",
            "start",
        )

    def crash(self) -> None:
        """Stop the server at once, as a power cut would (``pg_ctl stop -m immediate``)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.admin_url(name)

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(
                    str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"
                )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
