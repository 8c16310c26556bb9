"""Starting, watching and stopping the platform's processes (Rasa, action server, bot service).

Used by `supportbot up` and by the contract tests, so both run the services exactly the same way.

Layout: `action_processes` action servers all on `action_port` (SO_REUSEPORT, named actions, actions-1, …),
`rasa_processes` Rasa servers on `rasa_port`, `rasa_port`+1, … (rasa, rasa-1, …) sharing one endpoints
file (tracker store, lock store), and the bot service, told every Rasa URL (`SUPPORTBOT_RASA_URLS`).
One dead process of several leaves the others serving while the supervisor restarts it
(docs/deployment.md "Failover").
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from core.secrets import action_token, rasa_token
from core.settings import ROOT, Settings
from rasa_plugins import blas_threads


@dataclass
class Service:
    name: str
    cmd: list[str]
    health_url: str
    env: dict[str, str] = field(default_factory=dict)
    prepare: Callable[[], object] | None = None  # writes config files the command reads
    proc: subprocess.Popen | None = None
    log_path: Path | None = None
    shared_port: bool = False  # other processes serve the same port: healthy() asks for this one's pid

    def start(self, log_dir: Path) -> None:
        if self.prepare is not None:
            self.prepare()
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{self.name}.log"
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **self.env}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def healthy(self) -> bool:
        """Its health URL answers 2xx; on a shared port, an answer from this very process (`X-Server-Pid`;
        each try is a new connection, which the kernel may give to any of the processes)."""
        for _ in range(12 if self.shared_port else 1):
            try:
                r = httpx.get(self.health_url, timeout=2.0)
            except httpx.HTTPError:
                return False
            if r.status_code >= 300:
                return False
            if not self.shared_port or (self.proc is not None and r.headers.get("x-server-pid") == str(self.proc.pid)):
                return True
        return False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, lines: int = 30) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 20.0) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def rasa_model_path(settings: Settings) -> Path:
    return settings.rasa_model_dir / "supportbot.tar.gz"


def platform_services(settings: Settings, env: dict[str, str] | None = None) -> list[Service]:
    """The processes of a running bot, in start order (action servers, Rasa servers, the bot service),
    configured from `settings`."""
    env = dict(env or {})
    env.setdefault("SUPPORTBOT_DATABASE_URL", settings.db_url)
    env.setdefault("SUPPORTBOT_VAR_DIR", str(settings.var_dir))
    env.setdefault("SUPPORTBOT_RASA_TRACKER_URL", settings.tracker_db_url)
    env.setdefault("SUPPORTBOT_ACTION_PORT", str(settings.action_port))
    env.setdefault("SUPPORTBOT_ACTION_URL", f"http://127.0.0.1:{settings.action_port}/webhook")
    env.setdefault("SUPPORTBOT_PORT", str(settings.port))
    blas_threads.set_defaults(env)  # one BLAS / OpenMP thread per serving process unless set (the module says why)
    # Rasa's HTTP API and the action server each take a token (docs/security.md); every process reads
    # the same generated secrets from var/ unless the settings name them
    token = rasa_token(settings)
    env.setdefault("SUPPORTBOT_ACTION_TOKEN", action_token(settings))
    for name in ("rasa_processes", "rasa_workers", "action_processes"):
        if getattr(settings, name) < 1:
            raise ValueError(f"{name} must be at least 1, not {getattr(settings, name)}; "
                             f"set SUPPORTBOT_{name.upper()}=1 (or more)")
    rasa_ports = rasa_ports_of(settings)
    env.setdefault("SUPPORTBOT_RASA_URL", f"http://127.0.0.1:{rasa_ports[0]}")
    env.setdefault("SUPPORTBOT_RASA_URLS", json.dumps([f"http://127.0.0.1:{p}" for p in rasa_ports]))
    rasa_bin = settings.rasa_venv / "bin" / "rasa"
    run_dir = settings.var_dir / "run" / f"rasa-{settings.rasa_port}"
    endpoints = run_dir / "endpoints.yml"
    several = settings.action_processes > 1
    actions = [Service(numbered("actions", i), [sys.executable, "-m", "actions", *(["--reuse-port"] if several else [])],
                       f"http://127.0.0.1:{settings.action_port}/health", env, shared_port=several)
               for i in range(settings.action_processes)]
    rasa_env = dict(env)
    if settings.rasa_workers > 1:
        # Rasa's own switch for Sanic worker processes; they share a lock store (render_endpoints)
        rasa_env["SANIC_WORKERS"] = str(settings.rasa_workers)
    rasa = [Service(
        numbered("rasa", i),
        [
            str(rasa_bin), "run", "--enable-api", "--auth-token", token,
            "--model", str(rasa_model_path(settings)),
            "--port", str(port), "--interface", "127.0.0.1",
            "--endpoints", str(endpoints), "--credentials", "credentials.yml",
        ],
        f"http://127.0.0.1:{port}/status?token={token}",
        rasa_env,
        prepare=lambda: render_endpoints(settings, run_dir),
    ) for i, port in enumerate(rasa_ports)]
    bot = Service(
        "bot",
        [sys.executable, "-m", "bot.serve"],
        f"http://127.0.0.1:{settings.port}/healthz",
        env,
    )
    return [*actions, *rasa, bot]


def numbered(name: str, i: int) -> str:
    """The i-th process of a kind: `rasa`, `rasa-1`, `rasa-2`, …"""
    return name if i == 0 else f"{name}-{i}"


def rasa_ports_of(settings: Settings) -> list[int]:
    """The ports of the Rasa servers `supportbot up` starts: rasa_port, rasa_port+1, …"""
    return [settings.rasa_port + i for i in range(settings.rasa_processes)]


def wait_healthy(services: list[Service], timeout: float = 300.0, say=print) -> None:
    """Wait for every service to answer its health URL; fail fast, with its log, if one dies."""
    pending = list(services)
    deadline = time.monotonic() + timeout
    while pending:
        for svc in list(pending):
            if not svc.alive():
                raise RuntimeError(f"{svc.name} exited with code {svc.proc.returncode if svc.proc else '?'}; "
                                   f"last lines of {svc.log_path}:\n{svc.tail()}")
            if svc.healthy():
                say(f"  {svc.name:8s} healthy at {svc.health_url.split('?')[0]}")  # never print a token
                pending.remove(svc)
        if pending and time.monotonic() > deadline:
            names = ", ".join(s.name for s in pending)
            raise TimeoutError(f"{names} did not become healthy within {timeout:.0f}s; see logs in "
                               f"{pending[0].log_path.parent if pending[0].log_path else 'var/logs'}")
        time.sleep(0.5)


def stop_all(services: list[Service]) -> None:
    for svc in reversed(services):
        svc.stop()


TRACKER_STORE = "rasa_plugins.channel.TurnEventsSQLTrackerStore"


def tracker_store_config(settings: Settings) -> dict:
    """Rasa's SQL tracker store (settings.tracker_db_url) in the shape endpoints.yml wants.

    It is Rasa's own SQL store with one addition: turns that came through supportbot's channel go back
    with the answer (rasa_plugins/channel.py), so the service need not read them from the database.
    """
    from sqlalchemy.engine import make_url

    u = make_url(settings.tracker_db_url)
    if u.drivername.startswith("sqlite"):
        return {"type": TRACKER_STORE, "dialect": "sqlite", "db": u.database}
    cfg = {"type": TRACKER_STORE, "dialect": "postgresql", "url": u.host or "127.0.0.1", "port": u.port or 5432,
           "db": u.database, "username": u.username or "postgres"}
    if u.password:
        cfg["password"] = u.password
    return cfg


def sqlite_wal(path: Path) -> None:
    """Put a SQLite file (created if missing) in write-ahead-log mode, which the file keeps.

    Rasa opens its SQLite tracker store in rollback-journal mode, where every reader blocks the writer:
    the bot service reading NLU details from it made Rasa's commits wait, up to a 10 s tail under load
    (docs/benchmarks.md "Customer channel"). In WAL mode readers and the writer do not block each other.
    """
    import sqlite3

    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=10)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()


def render_endpoints(settings: Settings, out_dir: Path) -> Path:
    """Write the endpoints file `rasa run` uses: the project's endpoints.yml with our ports and stores."""
    import yaml
    from sqlalchemy.engine import make_url

    base = yaml.safe_load((ROOT / "endpoints.yml").read_text()) or {}
    # the project's action_endpoint options (enable_selective_domain) stay; the URL and the token are ours
    base["action_endpoint"] = {**(base.get("action_endpoint") or {}),
                               "url": f"http://127.0.0.1:{settings.action_port}/webhook",
                               "token": action_token(settings)}
    base["tracker_store"] = tracker_store_config(settings)
    if base["tracker_store"]["dialect"] == "sqlite":
        sqlite_wal(Path(base["tracker_store"]["db"]))
    if settings.rasa_lock_store_url:
        u = make_url(settings.rasa_lock_store_url)
        base["lock_store"] = {"type": "redis", "url": u.host, "port": u.port or 6379,
                              "db": int(u.database or 1), "key_prefix": "supportbot"}
    elif settings.rasa_workers > 1 or settings.rasa_processes > 1:
        # several Rasa processes on this machine and no Redis: file locks (rasa_plugins/lock_store.py)
        base["lock_store"] = {"type": "rasa_plugins.lock_store.FileLockStore", "lock_dir": str(out_dir / "locks")}
    if settings.rasa_event_broker_url:
        u = make_url(settings.rasa_event_broker_url)
        base["event_broker"] = {"type": "pika", "url": u.host, "port": u.port or 5672,
                                "username": u.username or "guest", "password": u.password or "guest",
                                "queues": ["rasa_events"]}
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "endpoints.yml"
    # several Rasa processes render it as they (re)start: written aside, then renamed, never seen half-written
    tmp = out_dir / f".endpoints-{os.getpid()}-{time.monotonic_ns()}.yml"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the action token
    with os.fdopen(fd, "w") as fh:
        fh.write(yaml.safe_dump(base, sort_keys=False))
    tmp.replace(path)
    return path
