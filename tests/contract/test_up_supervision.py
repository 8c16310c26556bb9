"""Contract: `supportbot up` restarts a Rasa process that crashed, and `supportbot status` shows it.

Runs the real `supportbot up` with the tiny test bot's model (tests/tiny_rasa.py) standing in for the
demo model, so it needs no `supportbot train` of the full project."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from bench.front import free_ports_in_a_row
from tests.support import ROOT, free_port

pytestmark = pytest.mark.contract


def test_a_killed_rasa_is_restarted_and_status_shows_the_restart(tiny_model, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(tiny_model, models / "supportbot.tar.gz")
    ports = {"--port": free_port(), "--rasa-port": free_ports_in_a_row(2), "--action-port": free_port()}
    env = {**os.environ, "SUPPORTBOT_VAR_DIR": str(tmp_path / "var"), "SUPPORTBOT_RASA_MODEL_DIR": str(models),
           "SUPPORTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'sb.db'}", "SUPPORTBOT_RASA_WORKERS": "1",
           "SUPPORTBOT_RASA_TRACKER_URL": f"sqlite:///{tmp_path / 'tracker.db'}"}
    cmd = [sys.executable, "-m", "bot.cli", "up", "--no-train"] + [str(x) for kv in ports.items() for x in kv]
    log = tmp_path / "up.log"
    state_file = tmp_path / "var" / "run" / f"up-{ports['--port']}.json"
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "supportbot is up" in log.read_text(), proc, log, 300)
        rasa_pid = json.loads(state_file.read_text())["services"]["rasa"]["pid"]
        os.kill(rasa_pid, signal.SIGKILL)

        def restarted() -> bool:
            rasa = json.loads(state_file.read_text())["services"]["rasa"]
            return rasa["restarts"] == 1 and rasa["alive"] and rasa["pid"] != rasa_pid

        wait_for(restarted, proc, log, 60)
        assert "rasa killed by SIGKILL; restarting it in 1s" in log.read_text()
        status_env = {**env, "SUPPORTBOT_PORT": str(ports["--port"]), "SUPPORTBOT_RASA_PORT": str(ports["--rasa-port"]),
                      "SUPPORTBOT_ACTION_PORT": str(ports["--action-port"])}
        services: dict = {}

        def rasa_healthy_again() -> bool:  # `supportbot status` asks Rasa with its token
            nonlocal services
            done = subprocess.run([sys.executable, "-m", "bot.cli", "status", "--json"], cwd=ROOT, timeout=60,
                                  env=status_env, capture_output=True, text=True)
            services = json.loads(done.stdout)["services"]
            return services["rasa"]["healthy"]

        wait_for(rasa_healthy_again, proc, log, 180)
        assert services["rasa"]["restarts"] == 1 and services["rasa"]["last_exit"] == "killed by SIGKILL"
        assert services["bot"]["restarts"] == 0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    assert "all services stopped" in log.read_text() and not state_file.exists()


def wait_for(condition, proc: subprocess.Popen, log, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"supportbot up exited early:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"not reached after {timeout} s:\n{log.read_text()[-3000:]}"
        time.sleep(0.5)
