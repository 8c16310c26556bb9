"""Contract: with Rasa stopped, the bot service says "temporarily unavailable" and keeps the message.

It stops every Rasa server of the session's stack (`supportbot up` runs two, and the bot service fails over
between them: one stopped server is tests/contract/test_failover.py's case) and starts them again afterwards,
so the tests after it meet the whole platform again.
"""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from bot.apikeys import ApiKeys
from bot.processes import wait_healthy
from core.store.db import Database

pytestmark = pytest.mark.contract


def test_rasa_stopped_customer_told_and_message_stored(stack):
    db = Database(stack.settings.db_url)
    key, _ = ApiKeys(db).create("contract-rasa-down")
    db.dispose()
    servers = [s for name, s in stack.services.items() if name == "rasa" or name.startswith("rasa-")]
    assert len(servers) == stack.settings.rasa_processes
    for rasa in servers:
        rasa.stop()
    try:
        _customer_told_and_message_stored(stack, key)
    finally:
        for rasa in servers:
            rasa.start(stack.log_dir)
        wait_healthy(servers, timeout=300)


def _customer_told_and_message_stored(stack, key: str) -> None:
    r = httpx.post(f"{stack.url}/api/messages", json={"text": "where is my card?"},
                   headers={"Authorization": f"Bearer {key}"}, timeout=30.0)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["answered"] is False
    assert out["notice"] == "rasa_unavailable"
    assert "temporarily unavailable" in " ".join(x["text"] for x in out["replies"]).lower(), out
    path = stack.settings.db_url.split(":///", 1)[1]
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT speaker, text, answered FROM turns WHERE conversation_id = ?",
                            (out["conversation_id"],)).fetchall()
    assert ("customer", "where is my card?", 0) in rows
    assert httpx.get(f"{stack.url}/healthz", timeout=5).status_code in (200, 503)
