"""Contract: `supportbot up` starts the three services, serves the demo page with the widget, and
Ctrl-C (SIGINT) stops every one of them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.support import ROOT, free_port

pytestmark = pytest.mark.contract


def test_up_serves_the_demo_page_and_ctrl_c_stops_everything(trained, tmp_path):
    ports = {"--port": free_port(), "--rasa-port": free_port(), "--action-port": free_port()}
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
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    assert "all services stopped" in log.read_text()
    for port in ports.values():
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
