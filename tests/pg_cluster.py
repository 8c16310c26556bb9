"""A throwaway PostgreSQL cluster of the test's own (`initdb` + `pg_ctl`), which tests may stop and
restart without touching the shared server the other tests use. Registered in tests/conftest.py.

Run as root, the cluster belongs to the `postgres` user (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support import free_port


class PgCluster:
    def __init__(self, base: Path, port: int):
        self.base = base
        self.data = base / "data"
        self.port = port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        cmd = " ".join(shlex.quote(a) for a in args)
        full = ["su", "postgres", "-c", cmd] if os.geteuid() == 0 else ["sh", "-c", cmd]
        done = subprocess.run(full, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            log = (self.base / "pg.log").read_text()[-2000:] if (self.base / "pg.log").exists() else ""
            raise RuntimeError(f"{cmd} failed:\n{done.stdout}{done.stderr}{log}")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.base / "pg.log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def pg_cluster():
    """A fresh PostgreSQL cluster on a free port; stopped and deleted afterwards."""
    if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
        pytest.fail("initdb and pg_ctl (the PostgreSQL server binaries) must be on PATH for this test")
    base = Path(tempfile.mkdtemp(prefix="supportbot-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    cluster = PgCluster(base, free_port())
    cluster.init()
    cluster.start()
    try:
        yield cluster
    finally:
        try:
            cluster.stop()
        except RuntimeError:
            pass  # a test left it stopped
        shutil.rmtree(base, ignore_errors=True)
