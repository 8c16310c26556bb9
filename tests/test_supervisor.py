"""The supervisor of `supportbot up` on real child processes: a crash is restarted with back-off and
recorded in the state file; repeated crashes make it give up with the reason and the child's log."""

from __future__ import annotations

import json
import sys
import time

import pytest

from bot.processes import Service
from bot.supervisor import GaveUp, Supervisor, read_state


def crashing(name: str) -> Service:
    code = "import sys; print('cannot open the model file', flush=True); sys.exit(3)"
    return Service(name, [sys.executable, "-c", code], "http://127.0.0.1:9/none")


def test_repeated_crashes_are_restarted_then_given_up_loudly(tmp_path):
    said: list[str] = []
    svc = crashing("rasa")
    state = tmp_path / "run" / "up-1.json"
    sup = Supervisor([svc], tmp_path / "logs", state, said.append, max_restarts=2, window_s=60, max_backoff_s=0.05)
    svc.start(tmp_path / "logs")
    deadline = time.monotonic() + 30
    with pytest.raises(GaveUp) as info:
        while time.monotonic() < deadline:
            sup.check()
            time.sleep(0.02)
    message = str(info.value)
    assert "rasa exited with code 3" in message and "giving up" in message
    assert "cannot open the model file" in message  # the child's own log says why
    recorded = json.loads(state.read_text())["services"]["rasa"]
    assert recorded["restarts"] == 2 and recorded["last_exit"] == "exited with code 3"
    assert sum("rasa exited with code 3; restarting it in" in m for m in said) == 2
    assert read_state(state) is not None  # this process (the supervisor) is alive
    sup.remove_state()
    assert read_state(state) is None


def test_a_long_running_child_is_left_alone(tmp_path):
    svc = Service("actions", [sys.executable, "-c", "import time; time.sleep(60)"], "http://127.0.0.1:9/none")
    sup = Supervisor([svc], tmp_path / "logs", tmp_path / "up.json", print)
    svc.start(tmp_path / "logs")
    try:
        for _ in range(5):
            sup.check()
        sup.write_state()
        assert json.loads((tmp_path / "up.json").read_text())["services"]["actions"]["restarts"] == 0
        assert svc.alive()
    finally:
        svc.stop()
