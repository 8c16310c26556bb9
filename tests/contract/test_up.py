"""Contract: `supportbot up` starts the three services, serves the demo page with the widget, and
Ctrl-C (SIGINT) stops every one of them. With the defaults (two Rasa processes, no Redis) the Rasa
processes share conversations through rasa_plugins.lock_store.FileLockStore."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
import yaml

from bench.front import free_ports_in_a_row
from tests.support import ROOT, free_port

pytestmark = pytest.mark.contract


def test_up_serves_the_demo_page_and_ctrl_c_stops_everything(trained, tmp_path):
    ports = {"--port": free_port(), "--rasa-port": free_ports_in_a_row(2), "--action-port": free_port()}
    env = {**os.environ, "SUPPORTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'sb.db'}",
           "SUPPORTBOT_RASA_TRACKER_URL": f"sqlite:///{tmp_path / 'tracker.db'}"}
    cmd = [sys.executable, "-m", "bot.cli", "up", "--no-train"] + [str(x) for kv in ports.items() for x in kv]
    log = tmp_path / "up.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while "supportbot is up" not in log.read_text():
            assert proc.poll() is None, f"supportbot up exited early:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"not up after 300 s:\n{log.read_text()[-3000:]}"
            time.sleep(0.5)
        url = f"http://127.0.0.1:{ports['--port']}"
        assert f"{url}/" in log.read_text()
        page = httpx.get(f"{url}/", timeout=10)
        assert page.status_code == 200 and "widget.js" in page.text
        assert httpx.get(f"{url}/widget.js", timeout=10).status_code == 200
        check_rasa_processes_share_one_conversation(ports["--rasa-port"])
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    assert "all services stopped" in log.read_text()
    for port in [*ports.values(), ports["--rasa-port"] + 1]:
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)


def check_rasa_processes_share_one_conversation(rasa_port: int, messages: int = 12) -> None:
    """Many messages of one conversation at once, spread over the Rasa servers (rasa_port and the next, as
    `supportbot up` starts them): each is handled whole, whichever server got it (one lock, one tracker)."""
    ports = [rasa_port, rasa_port + 1]
    servers = [pid for pid in os.listdir("/proc") if pid.isdigit() and "rasa" in _cmdline(pid)
               and any(f" --port {p} " in _cmdline(pid) for p in ports)]
    assert len(servers) == 2, servers  # two Rasa servers, one process each (rasa_workers 1)
    endpoints = yaml.safe_load((ROOT / "var" / "run" / f"rasa-{rasa_port}" / "endpoints.yml").read_text())
    assert endpoints["lock_store"]["type"] == "rasa_plugins.lock_store.FileLockStore"

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as http:
            return await asyncio.gather(*[http.post(f"http://127.0.0.1:{ports[i % 2]}/webhooks/rest/webhook", json={
                "sender": "lock-contract", "message": "hello" if i % 2 else "goodbye"}) for i in range(messages)])

    replies = asyncio.run(burst())
    assert all(r.status_code == 200 and r.json() for r in replies)
    token = (ROOT / "var" / "rasa_token").read_text().strip()  # Rasa runs with --auth-token (docs/security.md)
    tracker = httpx.get(f"http://127.0.0.1:{rasa_port}/conversations/lock-contract/tracker",
                        params={"token": token}, timeout=30).json()
    kinds = [e["event"] for e in tracker["events"] if e["event"] in ("user", "bot", "action")]
    users = [i for i, k in enumerate(kinds) if k == "user"]
    assert len(users) == messages  # none lost
    for start, end in zip(users, users[1:] + [len(kinds)]):  # each message's actions ran before the next began
        assert "bot" in kinds[start:end], kinds


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
