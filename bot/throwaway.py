"""Throwaway PostgreSQL clusters and Redis servers of one's own (under a temp dir, on a given port), which
the fault tests and `supportbot bench soak` stop, kill and restart without touching shared servers.

PostgreSQL runs as the `postgres` user when we are root (it refuses to run as root); `initdb` and `pg_ctl`
must be on PATH, and `redis-server` for Redis. Every server binds 127.0.0.1 only and keeps no data
worth saving (fsync off, no Redis persistence)."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path


def require(*binaries: str) -> None:
    missing = [b for b in binaries if shutil.which(b) is None]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} not found on PATH: install the PostgreSQL server and Redis "
                           "(e.g. apt-get install postgresql redis-server) to run this")


class PgCluster:
    def __init__(self, port: int, base: Path | None = None):
        require("initdb", "pg_ctl")
        self.base = base or Path(tempfile.mkdtemp(prefix="supportbot-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres")
        self.data = self.base / "data"
        self.port = port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        cmd = " ".join(shlex.quote(a) for a in args)
        full = ["su", "postgres", "-c", cmd] if os.geteuid() == 0 else ["sh", "-c", cmd]
        done = subprocess.run(full, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            log = (self.base / "pg.log").read_text()[-2000:] if (self.base / "pg.log").exists() else ""
            raise RuntimeError(f"{cmd} failed:\n{done.stdout}{done.stderr}{log}")

    def init(self) -> PgCluster:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        return self

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.base / "pg.log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):  # already stopped
            self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


class RedisServer:
    def __init__(self, port: int, log_dir: Path):
        require("redis-server", "redis-cli")
        self.port = port
        self.log_dir = log_dir
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.starts += 1
        with open(self.log_dir / f"redis-{self.port}-{self.starts}.log", "wb") as log:
            self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                          "--save", "", "--appendonly", "no"], stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 20
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True,
                             text=True).stdout.strip() != "PONG":
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}; see {self.log_dir}")
            time.sleep(0.1)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
