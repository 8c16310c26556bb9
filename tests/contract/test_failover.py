"""Contract: one SIGKILLed process of two does not stop the answers (docs/deployment.md "Failover").

- Two real Rasa servers (the tiny test bot, one SQLite tracker store, locks in Redis) behind the bot
  service's client: the Rasa a conversation talks to is killed, and that conversation's next message is
  answered by the other one within a few seconds, continuing the same tracker, stored once, answered once.
- Two real action servers on one port (`actions.server.serve(..., reuse_port=True)`, rasa-sdk with the tiny
  bot's actions): the one running an action is killed mid-call; the customer gets the notice for that
  message (Rasa does not retry an action), and the next message's action runs on the other process.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from bot.processes import TRACKER_STORE, sqlite_wal
from tests.bot.widget_client import WidgetClient, bot_texts
from tests.support import RASA_BIN, ROOT, free_port, start, stop, wait_http
from tests.tiny_rasa import PROJECT, RASA_TOKEN, running_service

pytestmark = [pytest.mark.contract, pytest.mark.slow]
LOCKS = "redis://127.0.0.1:6379/6"
SERVE_TINY_ACTIONS = (  # the tiny bot's actions, served the way `python -m actions --reuse-port` serves ours
    "import sys\n"
    "from rasa_sdk.endpoint import create_app\n"
    "from rasa_sdk.executor import ActionExecutor\n"
    "from actions.server import add_pid_header, serve\n"
    "import actions_tiny\n"
    "executor = ActionExecutor()\n"
    "executor.register_action(actions_tiny.ActionBalance())\n"
    "executor.register_action(actions_tiny.ActionSlow())\n"
    "serve(add_pid_header(create_app(executor)), '127.0.0.1', int(sys.argv[1]), reuse_port=True)\n")


def start_rasa(model: Path, run_dir: Path, action_port: int, tracker_db: Path, name: str) -> tuple[subprocess.Popen, str]:
    endpoints = run_dir / "endpoints.yml"
    if not endpoints.exists():
        sqlite_wal(tracker_db)
        endpoints.write_text(
            f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
            f'tracker_store:\n  type: {TRACKER_STORE}\n  dialect: sqlite\n  db: "{tracker_db}"\n'
            f'lock_store:\n  type: redis\n  url: 127.0.0.1\n  port: 6379\n  db: 6\n  key_prefix: {run_dir.name}\n')
        shutil.copy(PROJECT / "credentials.yml", run_dir / "credentials.yml")
    port = free_port()
    proc = start([str(RASA_BIN), "run", "--enable-api", "--auth-token", RASA_TOKEN, "--model", str(model),
                  "--port", str(port), "--interface", "127.0.0.1", "--endpoints", "endpoints.yml",
                  "--credentials", "credentials.yml"], run_dir / f"{name}.log", cwd=run_dir)
    return proc, f"http://127.0.0.1:{port}"


def wait_rasa(url: str, proc: subprocess.Popen, log: Path) -> None:
    try:
        wait_http(f"{url}/status?token={RASA_TOKEN}", timeout=240, proc=proc)
    except (TimeoutError, RuntimeError) as exc:
        raise AssertionError(f"rasa run did not start:\n{log.read_text()[-3000:]}") from exc


def start_actions(port: int, log: Path) -> subprocess.Popen:
    proc = start([sys.executable, "-c", SERVE_TINY_ACTIONS, str(port)], log, cwd=PROJECT,
                 env={"PYTHONPATH": str(ROOT), "SUPPORTBOT_TEST_SLOW_S": "3"})
    return proc


def wait_pid_answers(port: int, proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    """Until this very process answers on the shared port (X-Server-Pid)."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"an action server exited at start:\n{log.read_text()[-3000:]}"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).headers.get("x-server-pid") == str(proc.pid):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"action server {proc.pid} did not answer on port {port} within {timeout} s")


def serving_an_action(procs: list[subprocess.Popen], port: int) -> subprocess.Popen | None:
    """The process holding an open connection from Rasa on the action port (a call in progress)."""
    for proc in procs:
        conns = psutil.Process(proc.pid).net_connections(kind="tcp")
        if any(c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port for c in conns):
            return proc
    return None


def history_of(svc, conv: str) -> list[tuple[str, bool | None]]:
    return [(t["speaker"], t["answered"]) for t in svc.store.history(conv)]


@pytest.fixture
def two_rasas(tiny_model, action_server, tmp_path):
    run_dir = tmp_path / "rasa"
    run_dir.mkdir()
    tracker_db = run_dir / "tracker.db"
    rasas = [start_rasa(tiny_model, run_dir, action_server.port, tracker_db, f"rasa-{i}") for i in range(2)]
    try:
        for i, (proc, url) in enumerate(rasas):
            wait_rasa(url, proc, run_dir / f"rasa-{i}.log")
        yield rasas, f"sqlite:///{tracker_db}"
    finally:
        for proc, _url in rasas:
            stop(proc)


async def test_the_rasa_a_conversation_talks_to_is_killed_and_the_other_answers_its_next_message(two_rasas,
                                                                                                  sqlite_url):
    rasas, tracker_url = two_rasas
    urls = [url for _proc, url in rasas]
    async with running_service(sqlite_url, urls[0], rasa_urls=urls, rasa_tracker_url=tracker_url) as svc:
        client = await WidgetClient.open(svc.ws_url)
        assert bot_texts(await client.say("hello")) == ["Hello! How can I help you today?"]
        conv = client.session["conversation_id"]
        own = svc.services.rasa.order(conv)[0]
        proc = next(p for p, url in rasas if url == own)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

        started = time.monotonic()
        events = await client.say("what is my balance", client_msg_id="after-the-kill")
        took = time.monotonic() - started
        assert bot_texts(events) == ["Your balance is 42.00 EUR."]
        assert took < 5, f"answered {took:.1f} s after the kill"
        # the other Rasa continued the same conversation (one tracker store): both turns there, in order
        assert history_of(svc, conv) == [("customer", True), ("bot", None), ("customer", True), ("bot", None)]
        assert [t["client_msg_id"] for t in svc.store.history(conv)].count("after-the-kill") == 1
        assert await svc.services.rasa.servers_up() == [url != own for url in urls]
        await client.close()


@pytest.fixture
def two_action_servers(tiny_model, tmp_path):
    port = free_port()
    procs = [start_actions(port, tmp_path / f"actions-{i}.log") for i in range(2)]
    try:
        for i, proc in enumerate(procs):
            wait_pid_answers(port, proc, tmp_path / f"actions-{i}.log")
        run_dir = tmp_path / "rasa"
        run_dir.mkdir()
        proc, url = start_rasa(tiny_model, run_dir, port, run_dir / "tracker.db", "rasa")
        try:
            wait_rasa(url, proc, run_dir / "rasa.log")
            yield port, procs, url, f"sqlite:///{run_dir / 'tracker.db'}"
        finally:
            stop(proc)
    finally:
        for proc in procs:
            stop(proc)


async def test_the_action_server_running_an_action_is_killed_and_the_next_action_runs_on_the_other(
        two_action_servers, sqlite_url):
    port, procs, rasa_url, tracker_url = two_action_servers
    async with running_service(sqlite_url, rasa_url, rasa_tracker_url=tracker_url, rasa_timeout_s=20) as svc:
        client = await WidgetClient.open(svc.ws_url)
        assert bot_texts(await client.say("what is my balance")) == ["Your balance is 42.00 EUR."]
        conv = client.session["conversation_id"]

        slow = asyncio.ensure_future(client.say("run the slow report", client_msg_id="in-the-killed-one", timeout=30))
        deadline = time.monotonic() + 15
        while (victim := serving_an_action(procs, port)) is None:  # the 3 s action is running in one of them
            assert time.monotonic() < deadline and not slow.done(), "no action call was seen in progress"
            await asyncio.sleep(0.05)
        os.kill(victim.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        events = await slow
        # Rasa does not retry a failed action call: the turn gets no answer, the customer the notice
        assert bot_texts(events) == [] and [e["notice"] for e in events if e.get("notice")] == ["no_reply"]

        events = await client.say("what is my balance", client_msg_id="after-the-kill")
        assert bot_texts(events) == ["Your balance is 42.00 EUR."]
        assert time.monotonic() - killed_at < 5 + 3  # the slow turn's own 3 s, then the answer
        assert history_of(svc, conv) == [("customer", True), ("bot", None), ("customer", False), ("system", None),
                                         ("customer", True), ("bot", None)]
        assert [t["client_msg_id"] for t in svc.store.history(conv)].count("in-the-killed-one") == 1
        survivor = next(p for p in procs if p is not victim)
        assert survivor.poll() is None and victim.poll() is not None
        await client.close()
