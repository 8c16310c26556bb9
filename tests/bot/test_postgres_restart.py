"""The bot service across a real PostgreSQL restart (a cluster of the test's own, tests/pg_cluster.py).

While the server is down, a message is refused with `store_unavailable` / `retry: true` and never
acknowledged; the pooled connections the restart broke are replaced (pre-ping), and the widget's resend
with the same `client_msg_id` is stored once and answered."""

from __future__ import annotations

import asyncio

import pytest

from tests.bot.widget_client import WidgetClient, bot_texts, of_type

pytestmark = [pytest.mark.contract, pytest.mark.postgres]


async def test_postgres_restart_mid_conversation_loses_nothing(service_factory, pg_cluster):
    db_url = pg_cluster.create_database("supportbot")
    async with service_factory(db_url=db_url, store_retry_s=1.0) as svc:
        client = await WidgetClient.open(svc.ws_url)
        conv = client.session["conversation_id"]
        assert bot_texts(await client.say("hello", client_msg_id="before")) == ["Hello! How can I help you today?"]

        await asyncio.to_thread(pg_cluster.stop)
        events = await client.say("what is my balance", client_msg_id="during")
        [err] = of_type(events, "error")
        assert err["code"] == "store_unavailable" and err["retry"] is True and err["client_msg_id"] == "during"
        assert not of_type(events, "ack")

        await asyncio.to_thread(pg_cluster.start)  # every pooled connection is now dead
        events = await client.say("what is my balance", client_msg_id="during")  # the widget's resend
        [ack] = of_type(events, "ack")
        assert ack["duplicate"] is False
        assert bot_texts(events) == ["Your balance is 42.00 EUR."]

        customer = [t["client_msg_id"] for t in svc.store.history(conv) if t["speaker"] == "customer"]
        assert customer == ["before", "during"]
        await client.close()


async def test_a_restart_shorter_than_store_retry_s_only_delays_the_answer(service_factory, pg_cluster):
    db_url = pg_cluster.create_database("supportbot")
    async with service_factory(db_url=db_url, store_retry_s=20.0) as svc:
        client = await WidgetClient.open(svc.ws_url)
        conv = client.session["conversation_id"]
        await asyncio.to_thread(pg_cluster.stop)
        restart = asyncio.ensure_future(asyncio.to_thread(pg_cluster.start))
        events = await client.say("what is my balance", client_msg_id="blip", timeout=30)
        await restart
        assert bot_texts(events) == ["Your balance is 42.00 EUR."] and not of_type(events, "error")
        assert [t["client_msg_id"] for t in svc.store.history(conv) if t["speaker"] == "customer"] == ["blip"]
        await client.close()
