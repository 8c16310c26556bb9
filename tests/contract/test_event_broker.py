"""Contract: Rasa, configured as for several replicas (Redis lock store, RabbitMQ event broker),
publishes every tracker event of a conversation to the `rasa_events` queue."""

from __future__ import annotations

import json
import time

import httpx
import pika
import pytest

from bot.apikeys import ApiKeys
from core.store.db import Database
from tests.contract.conftest import AMQP_URL

pytestmark = pytest.mark.contract


def test_conversation_events_reach_rabbitmq(stack):
    db = Database(stack.settings.db_url)
    key, _ = ApiKeys(db).create("contract-broker")
    db.dispose()
    r = httpx.post(f"{stack.url}/api/messages", json={"text": "hi"},
                   headers={"Authorization": f"Bearer {key}"}, timeout=30.0)
    assert r.status_code == 200, r.text
    conversation_id = r.json()["conversation_id"]
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        channel = conn.channel()
        seen: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "user" not in seen:
            method, _props, body = channel.basic_get("rasa_events", auto_ack=True)
            if method is None:
                time.sleep(0.2)
                continue
            event = json.loads(body)
            if event.get("sender_id") == conversation_id:
                seen.append(event.get("event"))
        assert "user" in seen, f"no user event for {conversation_id} in rasa_events (saw {seen})"
    finally:
        conn.close()
