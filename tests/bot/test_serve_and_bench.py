"""`python -m bot.serve` as its own process, driven by the real `supportbot bench chat` command."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from tests.support import ROOT, free_port, start, stop, wait_http
from tests.tiny_rasa import RASA_TOKEN

pytestmark = pytest.mark.contract

REQUIRED = {"sessions", "sent", "answered", "stored", "errors", "p50_ms", "p95_ms", "p99_ms"}


def test_serve_runs_the_service_and_bench_chat_reports_every_message(rasa_server, sqlite_url, tmp_path):
    port = free_port()
    rasa_url = rasa_server.url
    env = {"SUPPORTBOT_DATABASE_URL": sqlite_url, "SUPPORTBOT_PORT": str(port), "SUPPORTBOT_RASA_URL": rasa_url,
           "SUPPORTBOT_RASA_TRACKER_URL": rasa_server.tracker_url,
           "SUPPORTBOT_SESSION_RATE_PER_MINUTE": "0", "SUPPORTBOT_IP_RATE_PER_MINUTE": "0",
           "SUPPORTBOT_WS_MAX_SOCKETS_PER_IP": "0",
           "SUPPORTBOT_RASA_TOKEN": RASA_TOKEN, "SUPPORTBOT_VAR_DIR": str(tmp_path / "var")}
    proc = start([sys.executable, "-m", "bot.serve"], tmp_path / "serve.log", env=env)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60, proc=proc)
        from websockets.sync.client import connect

        with connect(f"ws://127.0.0.1:{port}/ws") as ws:  # the client offers permessage-deflate ...
            assert ws.response.headers.get("Sec-WebSocket-Extensions") is None  # ... and is not given it
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "bench", "chat", "--sessions", "3", "--messages", "4", "--think-ms", "100", "--rounds", "2",
             "--url", f"http://127.0.0.1:{port}", "--rasa-url", rasa_url, "--db-url", sqlite_url],
            cwd=ROOT, capture_output=True, text=True, timeout=180)
    finally:
        stop(proc)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # exactly one JSON object on stdout
    assert set(result) >= REQUIRED
    assert (result["think_ms"], result["rounds"]) == (100, 2)
    assert (result["sessions"], result["sent"], result["answered"], result["stored"], result["errors"]) == (
        3, 24, 24, 24, 0)
    assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"]
    assert result["rasa_direct"]["answered"] == 24 and result["rasa_direct"]["errors"] == 0
    assert isinstance(result["overhead_p50"], float)
    # what the load generator itself cost the cores, per path (it runs beside the services)
    assert result["client_cpu_ms_per_message"] > 0 and result["rasa_direct"]["client_cpu_ms_per_message"] > 0
    assert "bench chat:" in done.stderr and "round 2" in done.stderr  # progress goes to stderr
    with sqlite3.connect(sqlite_url.split(":///", 1)[1]) as conn:  # annotated from Rasa's tracker
        intents = {row[0] for row in conn.execute("SELECT intent FROM turns WHERE speaker = 'customer'")}
    assert intents == {"greet", "goodbye"}


def test_pacing_is_seeded_and_spreads_think_times_around_the_mean():
    from bench.chat import Pacing

    a, b = Pacing(1000, session=3), Pacing(1000, session=3)
    draws = [a.next() for _ in range(200)]
    assert draws == [b.next() for _ in range(200)]  # the same run is the same load
    assert all(0.5 <= d <= 1.5 for d in draws) and 0.9 < sum(draws) / len(draws) < 1.1
    assert Pacing(1000, session=4).next() != Pacing(1000, session=3).next()
    off = Pacing(0, session=1)
    assert off.first() == 0 and off.next() == 0  # --think-ms 0: back to back
