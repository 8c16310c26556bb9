"""The tiny real Rasa bot shared by the bot-service and console tests (one per test session):
`rasa train` of tests/bot/rasa_project, its rasa-sdk action server, `rasa run`, and the real bot
service under uvicorn in the test's event loop. Registered as a plugin in tests/conftest.py."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import Services, build_services, create_app
from bot.processes import TRACKER_STORE
from core.settings import Settings
from tests.support import RASA_BIN, free_port, start, stop, wait_http

PROJECT = Path(__file__).resolve().parent / "bot" / "rasa_project"
SLOW_S = 2.5  # how long the tiny bot's action_slow sleeps
RASA_TOKEN = "tiny-rasa-token"  # the tiny Rasa's --auth-token, as `supportbot up` gives Rasa one


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """The tiny test bot, trained once per test session with the real `rasa train` (about 20 s)."""
    out = tmp_path_factory.mktemp("rasa_model")
    cmd = [str(RASA_BIN), "train", "--config", str(PROJECT / "config.yml"), "--domain", str(PROJECT / "domain.yml"),
           "--data", str(PROJECT / "data"), "--out", str(out), "--fixed-model-name", "tiny"]
    done = subprocess.run(cmd, cwd=out, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"rasa train failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return out / "tiny.tar.gz"


class ActionServer:
    """The tiny bot's rasa-sdk action server as a process that tests may stop and start again."""

    def __init__(self, log_dir: Path):
        self.port = free_port()
        self.log_dir = log_dir
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        self.proc = start([sys.executable, "-m", "rasa_sdk", "--actions", "actions_tiny", "--port", str(self.port)],
                          self.log_dir / f"actions-{self.starts}.log", env={"SUPPORTBOT_TEST_SLOW_S": str(SLOW_S)},
                          cwd=PROJECT)
        wait_http(f"http://127.0.0.1:{self.port}/health", timeout=60, proc=self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


@pytest.fixture(scope="session")
def action_server(tmp_path_factory):
    server = ActionServer(tmp_path_factory.mktemp("actions"))
    server.start()
    yield server
    server.stop()


@dataclass
class RasaServer:
    url: str
    tracker_url: str  # its SQL tracker store, as `supportbot up` configures one


@pytest.fixture(scope="session")
def rasa_server(tiny_model, action_server, tmp_path_factory) -> RasaServer:
    """A real `rasa run --enable-api` serving the tiny bot on a free port, with a SQLite tracker store."""
    run_dir = tmp_path_factory.mktemp("rasa_run")
    tracker_db = run_dir / "rasa_tracker.db"
    (run_dir / "endpoints.yml").write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_server.port}/webhook"\n'
        f'tracker_store:\n  type: {TRACKER_STORE}\n  dialect: sqlite\n  db: "{tracker_db}"\n')
    shutil.copy(PROJECT / "credentials.yml", run_dir / "credentials.yml")
    port = free_port()
    proc = start([str(RASA_BIN), "run", "--enable-api", "--auth-token", RASA_TOKEN, "--model", str(tiny_model), "--port", str(port),
                  "--interface", "127.0.0.1", "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"],
                 run_dir / "rasa.log", cwd=run_dir)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/status?token={RASA_TOKEN}", timeout=180, proc=proc)
    except (TimeoutError, RuntimeError) as exc:
        stop(proc)
        raise AssertionError(f"rasa run did not start:\n{(run_dir / 'rasa.log').read_text()[-3000:]}") from exc
    yield RasaServer(url, f"sqlite:///{tracker_db}")
    stop(proc)


@pytest.fixture(scope="session")
def rasa_url(rasa_server) -> str:
    return rasa_server.url


@dataclass
class Running:
    url: str
    ws_url: str
    services: Services
    app: object

    @property
    def store(self):
        return self.services.store

    @property
    def channel(self):
        return self.app.state.channel


@contextlib.asynccontextmanager
async def running_service(db_url: str, rasa_url: str, port: int | None = None, **overrides):
    """The real bot service (uvicorn, real sockets) in this test's event loop, on a free port."""
    import uvicorn

    port = port or free_port()
    overrides.setdefault("rasa_token", RASA_TOKEN)
    settings = Settings(database_url=db_url, rasa_url=rasa_url, host="127.0.0.1", port=port, **overrides)
    services = build_services(settings)
    services.db.migrate()
    app = create_app(services)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           ws_max_size=1 << 20, lifespan="on"))
    task = asyncio.ensure_future(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield Running(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws", services, app)
    finally:
        server.should_exit = True
        await task
        services.db.dispose()
