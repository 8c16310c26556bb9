"""Crash safety for real: the bot service process is SIGKILLed between a message's ack and its answer
(the tiny bot's slow action keeps Rasa busy), started again, and the message is then answered, or,
when it is too old to answer, marked unanswered where agents look."""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import pytest
from websockets.sync.client import connect

from bot.conversations import ConversationStore
from core.store.db import Database
from tests.support import free_port, start, stop, wait_http
from tests.tiny_rasa import RASA_TOKEN

pytestmark = pytest.mark.contract


def serve(rasa_server, db_url: str, port: int, log, **env):
    env = {"SUPPORTBOT_DATABASE_URL": db_url, "SUPPORTBOT_PORT": str(port), "SUPPORTBOT_RASA_URL": rasa_server.url,
           "SUPPORTBOT_RASA_TRACKER_URL": rasa_server.tracker_url, "SUPPORTBOT_RASA_TOKEN": RASA_TOKEN,
           "SUPPORTBOT_RASA_TIMEOUT_S": "30", **env}
    proc = start([sys.executable, "-m", "bot.serve"], log, env=env)
    wait_http(f"http://127.0.0.1:{port}/healthz", timeout=120, proc=proc)
    return proc


def send_and_kill(port: int, proc, text: str) -> tuple[str, int]:
    """Send `text`, wait for its ack, SIGKILL the service before the (slow) answer; (conversation, turn)."""
    with connect(f"ws://127.0.0.1:{port}/ws") as ws:
        ws.send(json.dumps({"type": "hello"}))
        session = json.loads(ws.recv(timeout=10))
        ws.send(json.dumps({"type": "message", "text": text, "client_msg_id": f"k-{time.monotonic()}"}))
        while True:
            event = json.loads(ws.recv(timeout=10))
            if event["type"] == "ack":
                break
        os.killpg(proc.pid, signal.SIGKILL)  # mid-answer: Rasa's slow action is still sleeping
        proc.wait(10)
    return session["conversation_id"], event["turn_id"]


def wait_for(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("the condition did not come true in time")


def test_sigkill_between_ack_and_answer_then_restart_answers_or_marks_the_turn(rasa_server, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'supportbot.db'}"
    port = free_port()
    proc = serve(rasa_server, db_url, port, tmp_path / "serve-1.log", SUPPORTBOT_VAR_DIR=str(tmp_path / "var"))
    conv, turn_id = send_and_kill(port, proc, "run the slow report")
    db = Database(db_url)
    store = ConversationStore(db)
    try:
        [turn] = store.history(conv)
        assert turn["turn_id"] == turn_id and turn["answered"] is None  # acknowledged, never answered

        # restarted within recovery_answer_within_s: Rasa is asked again and the answer is stored
        proc = serve(rasa_server, db_url, port, tmp_path / "serve-2.log", SUPPORTBOT_VAR_DIR=str(tmp_path / "var"))
        history = wait_for(lambda: (h := store.history(conv)) and len(h) >= 2 and h)
        assert [(t["speaker"], t["answered"]) for t in history] == [("customer", True), ("bot", None)]
        assert history[1]["text"] == "Here is your slow report."

        # killed again, restarted with a zero answer window: the turn is marked unanswered for agents
        conv2, turn2 = send_and_kill(port, proc, "run the slow report")
        proc = serve(rasa_server, db_url, port, tmp_path / "serve-3.log", SUPPORTBOT_VAR_DIR=str(tmp_path / "var"),
                     SUPPORTBOT_RECOVERY_ANSWER_WITHIN_S="0")
        history = wait_for(lambda: (h := store.history(conv2)) and len(h) >= 2 and h)
        assert [(t["speaker"], t["answered"]) for t in history] == [("customer", False), ("system", None)]
        assert "problem on our side" in history[1]["text"]
    finally:
        stop(proc)
        db.dispose()
