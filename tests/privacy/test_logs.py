"""No customer text in the logs: a real conversation with planted personal data goes through the real
bot service (`python -m bot.serve`, log level INFO), the real tiny Rasa bot and its action server
(all three as processes writing log files); afterwards none of the planted text is in any of their
log output, although every message was stored."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from core.store.db import Database
from tests.bot.widget_client import WidgetClient
from tests.support import free_port, start, stop, wait_http

pytestmark = pytest.mark.contract

PLANTED = ["Rhiannon Okafor", "rhiannon.okafor@example.com", "+44 7700 900123", "GB82 WEST 1234 5698 7654 32",
           "221B Baker Street"]
MESSAGES = ["hello, I am Rhiannon Okafor", "what are your opening hours? call me on +44 7700 900123",
            "my IBAN is GB82 WEST 1234 5698 7654 32 and I live at 221B Baker Street",
            "I want to talk to a human"]


def test_a_conversation_leaves_no_customer_text_in_any_log(rasa_server, action_server, sqlite_url, tmp_path):
    port = free_port()
    env = {"SUPPORTBOT_DATABASE_URL": sqlite_url, "SUPPORTBOT_PORT": str(port), "SUPPORTBOT_RASA_URL": rasa_server.url,
           "SUPPORTBOT_RASA_TRACKER_URL": rasa_server.tracker_url, "SUPPORTBOT_LOG_LEVEL": "INFO",
           "SUPPORTBOT_VAR_DIR": str(tmp_path / "var")}
    serve_log = tmp_path / "serve.log"
    proc = start([sys.executable, "-m", "bot.serve"], serve_log, env=env)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60, proc=proc)

        async def chat() -> None:
            client = await WidgetClient.open(f"ws://127.0.0.1:{port}/ws")
            for text in MESSAGES:
                await client.say(text)
            await client.send({"type": "contact", "email": "rhiannon.okafor@example.com"})
            await client.next("contact_saved")
            await client.ws.close()

        asyncio.run(chat())
    finally:
        stop(proc)
    db = Database(sqlite_url)
    with db.engine.connect() as conn:
        stored = [r[0] for r in conn.exec_driver_sql("SELECT text FROM turns WHERE speaker = 'customer' ORDER BY seq")]
    db.dispose()
    assert stored == MESSAGES  # the conversation really happened

    run_dir = Path(rasa_server.tracker_url.split(":///", 1)[1]).parent
    logs = {serve_log: serve_log.read_text(), **{p: p.read_text() for p in run_dir.glob("*.log")},
            **{p: p.read_text() for p in Path(action_server.log_dir).glob("*.log")}}
    assert len(logs) >= 3 and all(logs.values()), "every process wrote a log"
    for path, text in logs.items():
        for secret in PLANTED + MESSAGES:
            assert secret not in text, f"{path.name} logs customer text {secret!r}"
        assert "Okafor" not in text and "900123" not in text, path.name
