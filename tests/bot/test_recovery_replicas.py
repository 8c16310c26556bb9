"""Start-up recovery with several replicas: a replica that starts leaves alone an unanswered message that
another replica may still be answering; a single replica answers it (bot/recovery.py)."""

from __future__ import annotations

import asyncio
import time

from bot.app import build_services
from bot.sessions import Sessions
from core.settings import Settings


def unfinished_turn(db_url: str) -> tuple[str, int]:
    """A customer message stored and acknowledged by a replica that then died (no answer, no mark)."""
    services = build_services(Settings(database_url=db_url))
    services.db.migrate()
    _, session = Sessions(services.store, 30).create_widget_session(None)
    turn = services.store.append_customer_turn(session["session_id"], "widget", "hello", "m-1")
    services.db.dispose()
    return turn["conversation_id"], turn["turn_id"]


async def answered_flag(svc, conv: str, deadline_s: float) -> bool | None:
    deadline = time.monotonic() + deadline_s
    while True:
        [turn] = [t for t in svc.store.history(conv) if t["speaker"] == "customer"]
        if turn["answered"] is not None or time.monotonic() > deadline:
            return turn["answered"]
        await asyncio.sleep(0.1)


async def test_with_a_shared_hub_a_fresh_unanswered_turn_is_left_to_its_replica(service_factory, sqlite_url,
                                                                                redis_server):
    conv, _ = unfinished_turn(sqlite_url)
    async with service_factory(hub_url=redis_server.url(4)) as svc:
        assert await answered_flag(svc, conv, 3.0) is None  # not re-asked: the widget's resend answers it


async def test_a_single_replica_answers_it_at_start(service_factory, sqlite_url):
    conv, _ = unfinished_turn(sqlite_url)
    async with service_factory() as svc:
        assert await answered_flag(svc, conv, 20.0) is True


async def test_a_resent_message_is_answered_even_when_another_late_answer_follows_it(service_factory):
    """A replica stored message 2 and died; message 1's late answer was stored after it meanwhile. The
    widget's resend of message 2 must get its own answer, not be taken as answered by message 1's."""
    from tests.bot.widget_client import WidgetClient, bot_texts

    async with service_factory(rasa_timeout_s=0.5) as svc:
        client = await WidgetClient.open(svc.ws_url)
        conv = client.session["conversation_id"]
        await client.say("run the slow report", client_msg_id="m1")  # a notice now, the answer later
        svc.store.append_customer_turn(client.session["session_id"], "widget", "hello", "m2")
        deadline = time.monotonic() + 20
        while not any(t["text"] == "Here is your slow report." for t in svc.store.history(conv)):
            assert time.monotonic() < deadline, "the late answer never came"
            await asyncio.sleep(0.1)
        events = await client.say("hello", client_msg_id="m2", timeout=20)
        assert "Hello! How can I help you today?" in bot_texts(events)  # (message 1's late answer may come too)
        [m2] = [t for t in svc.store.history(conv) if t.get("client_msg_id") == "m2"]
        assert m2["answered"] is True
        await client.close()
