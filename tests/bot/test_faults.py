"""Faults, for real: Rasa stopped, Rasa slow, the action server stopped, the database gone for a moment.

Each test asserts what the customer sees and what the store holds afterwards.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from bot.apikeys import ApiKeys
from tests.bot.netlink import TcpLink
from tests.bot.widget_client import WidgetClient, bot_texts, of_type
from tests.conftest import POSTGRES_ADMIN_URL
from tests.tiny_rasa import SLOW_S

pytestmark = pytest.mark.contract


def notices(events: list[dict]) -> list[dict]:
    return [e for e in events if e["type"] == "message" and e.get("speaker") == "system"]


async def test_rasa_stopped_the_customer_is_told_and_the_message_is_kept(service_factory, rasa_url):
    target = urlsplit(rasa_url)
    link = TcpLink(target.hostname, target.port)
    await link.restore()
    async with service_factory(rasa=link.url) as svc:
        client = await WidgetClient.open(svc.ws_url)
        assert bot_texts(await client.say("hello")) == ["Hello! How can I help you today?"]

        await link.cut()  # Rasa is gone: connection refused, open connections reset
        started = time.monotonic()
        events = await client.say("what is my balance", client_msg_id="while-down")
        # a refused connection is reported at once, not after rasa_timeout_s (10 s); that bound, not a tight
        # one, so a loaded machine cannot fail it
        assert time.monotonic() - started < svc.services.settings.rasa_timeout_s
        [notice] = notices(events)
        assert notice["notice"] == "rasa_unavailable" and "temporarily unavailable" in notice["text"]
        assert bot_texts(events) == []
        key, _record = ApiKeys(svc.services.db).create("crm")
        async with httpx.AsyncClient(base_url=svc.url) as http:
            health = (await http.get("/healthz")).json()
            api = await http.post("/api/messages", json={"text": "hello"}, headers={"Authorization": f"Bearer {key}"})
        assert health["rasa"] is False and health["store"] is True
        assert api.status_code == 200 and api.json()["answered"] is False
        assert api.json()["notice"] == "rasa_unavailable"
        assert "temporarily unavailable" in api.json()["replies"][0]["text"]
        assert [t["answered"] for t in svc.store.history(api.json()["conversation_id"])] == [False, None]

        await link.restore()
        assert bot_texts(await client.say("what is my balance")) == ["Your balance is 42.00 EUR."]
        history = svc.store.history(client.session["conversation_id"])
        assert [(t["speaker"], t["answered"]) for t in history] == [
            ("customer", True), ("bot", None), ("customer", False), ("system", None), ("customer", True),
            ("bot", None)]
        assert history[2]["client_msg_id"] == "while-down" and history[3]["text"] == notice["text"]
        await client.close()
    await link.cut()


async def test_slow_rasa_gets_a_notice_in_time_and_the_late_answer_still_arrives(service_factory):
    async with service_factory(rasa_timeout_s=1.0) as svc:
        slow = await WidgetClient.open(svc.ws_url)
        fast = await WidgetClient.open(svc.ws_url)
        started = time.monotonic()
        await slow.send({"type": "message", "text": "run the slow report", "client_msg_id": "slow-1"})
        # another customer is answered while the slow one waits: forwarding blocks nobody
        assert bot_texts(await fast.say("hello")) == ["Hello! How can I help you today?"]
        fast_done = time.monotonic() - started
        notice = await slow.next("message", speaker="system", timeout=5)
        notice_at = time.monotonic() - started
        late = await slow.next("message", speaker="bot", timeout=15)
        late_at = time.monotonic() - started
        assert notice["notice"] == "rasa_timeout" and "taking longer" in notice["text"]
        # ordering, not tight windows (a loaded machine only makes everything later): the notice comes once
        # rasa_timeout_s has passed and before the answer; the other customer was answered before it too
        assert 0.9 <= notice_at < late_at and fast_done < late_at
        assert late["text"] == "Here is your slow report." and late_at >= SLOW_S
        await svc.channel.drain()
        history = svc.store.history(slow.session["conversation_id"])
        assert [(t["speaker"], t["text"][:20]) for t in history] == [
            ("customer", "run the slow report"), ("system", notice["text"][:20]), ("bot", "Here is your slow re")]
        assert history[0]["answered"] is True  # answered late, after the notice
        assert history[0]["intent"] == "slow_request" and history[2]["action"] == "action_slow"
        await slow.close()
        await fast.close()


async def test_action_server_stopped_the_customer_is_told_and_the_message_is_kept(service_factory, action_server):
    async with service_factory() as svc:
        client = await WidgetClient.open(svc.ws_url)
        action_server.stop()
        try:
            events = await client.say("what is my balance", client_msg_id="no-actions")
        finally:
            action_server.start()
        [notice] = notices(events)
        assert notice["notice"] == "no_reply" and "saved" in notice["text"]
        assert bot_texts(await client.say("what is my balance")) == ["Your balance is 42.00 EUR."]
        history = svc.store.history(client.session["conversation_id"])
        assert [(t["speaker"], t["answered"]) for t in history] == [
            ("customer", False), ("system", None), ("customer", True), ("bot", None)]
        await client.close()


def _allow_connections(dbname: str, allow: bool) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{dbname}" WITH ALLOW_CONNECTIONS {"true" if allow else "false"}')
        if not allow:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (dbname,))


@pytest.mark.postgres
async def test_database_unavailable_for_a_moment(service_factory, postgres_url):
    dbname = postgres_url.rsplit("/", 1)[1]
    async with service_factory(db_url=postgres_url, store_retry_s=3.0) as svc:
        client = await WidgetClient.open(svc.ws_url)
        conv = client.session["conversation_id"]

        # a blip shorter than store_retry_s: the customer only notices a delay
        _allow_connections(dbname, False)
        loop = asyncio.get_running_loop()
        reopen = loop.run_in_executor(None, lambda: (time.sleep(1.0), _allow_connections(dbname, True)))
        events = await client.say("what is my balance", client_msg_id="blip")
        await reopen
        assert bot_texts(events) == ["Your balance is 42.00 EUR."] and not of_type(events, "error")

        # a longer outage: the customer is told, nothing reaches Rasa, the widget's resend is stored once
        svc.store.retry_s = 0.5
        _allow_connections(dbname, False)
        try:
            events = await client.say("hello", client_msg_id="outage")
        finally:
            _allow_connections(dbname, True)
        [err] = of_type(events, "error")
        assert err["code"] == "store_unavailable" and err["retry"] is True and err["client_msg_id"] == "outage"
        assert "sent again" in err["message"] and not of_type(events, "ack")
        events = await client.say("hello", client_msg_id="outage")
        assert of_type(events, "ack")[0]["duplicate"] is False
        assert bot_texts(events) == ["Hello! How can I help you today?"]

        history = svc.store.history(conv)
        assert [t["client_msg_id"] for t in history if t["speaker"] == "customer"] == ["blip", "outage"]
        tracker = await svc.services.rasa.tracker(conv)
        assert [e["text"] for e in tracker["events"] if e["event"] == "user"] == ["what is my balance", "hello"]
        await client.close()
