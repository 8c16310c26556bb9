"""The widget's WebSocket against the real bot service, the real Rasa server and a SQLite store."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select

from core.store.models import Conversation, Turn
from tests.bot.widget_client import WidgetClient, bot_messages, bot_texts, of_type

pytestmark = pytest.mark.contract


async def test_a_message_is_answered_with_buttons_sources_and_nlu_details(service_factory):
    async with service_factory() as svc:
        client = await WidgetClient.open(svc.ws_url)
        assert client.history["turns"] == [] and client.session["status"] == "bot"
        events = await client.say("hello", client_msg_id="m1")
        kinds = [e["type"] for e in events]
        assert kinds[0] == "ack" and kinds.index("typing") < kinds.index("message")
        [greeting] = bot_messages(events)
        assert greeting["text"] == "Hello! How can I help you today?"
        assert [b["title"] for b in greeting["buttons"]] == ["Opening hours", "My balance"]

        # a quick-reply button: the customer's words are its title, Rasa gets its payload
        events = await client.say("Opening hours", type="button", title="Opening hours", payload="/ask_hours")
        [hours] = bot_messages(events)
        assert hours["text"].startswith("Our branches are open")
        assert hours["sources"] == [{"title": "Opening hours", "url": "https://bank.example/help/hours",
                                     "doc_id": "hours", "score": 0.91}]
        await svc.channel.drain()
        tracker = await svc.services.rasa.tracker(client.session["conversation_id"])
        history = svc.store.history(client.session["conversation_id"])
        assert [(t["speaker"], t["text"]) for t in history] == [
            ("customer", "hello"), ("bot", greeting["text"]), ("customer", "Opening hours"), ("bot", hours["text"])]
        users = [e for e in tracker["events"] if e["event"] == "user"]
        assert [u["text"] for u in users] == ["hello", "/ask_hours"]  # Rasa parsed each message once
        hello, _, button, answer = history
        assert hello["intent"] == "greet" and hello["confidence"] == pytest.approx(
            users[0]["parse_data"]["intent"]["confidence"])
        assert button["intent"] == "ask_hours" and button["confidence"] == 1.0
        assert history[1]["action"] == "utter_greet" and answer["action"] == "utter_hours"
        assert answer["model_versions"] == {"kb_index": "test-1"} and answer["sources"][0]["doc_id"] == "hours"
        await client.close()


async def test_replies_are_durable_before_the_customer_sees_them(service_factory):
    async with service_factory() as svc:
        client = await WidgetClient.open(svc.ws_url)
        await client.send({"type": "message", "text": "what is my balance", "client_msg_id": "b1"})
        reply = await client.next("message", speaker="bot")
        with svc.services.db.session() as s:  # read at the moment the reply arrived, on another connection
            stored = s.execute(select(Turn).where(Turn.id == reply["turn_id"])).scalar_one()
            asked = s.execute(select(Turn).where(Turn.client_msg_id == "b1")).scalar_one()
        assert stored.text == reply["text"] == "Your balance is 42.00 EUR."
        assert asked.answered is True
        await client.close()


async def test_a_reload_replays_history_and_a_resend_is_not_answered_twice(service_factory):
    async with service_factory() as svc:
        first = await WidgetClient.open(svc.ws_url)
        await first.say("hello", client_msg_id="once")
        await first.close()

        again = await WidgetClient.open(svc.ws_url, token=first.token)  # reload / new tab
        assert "token" not in again.session
        assert again.session["session_id"] == first.session["session_id"]
        assert [t["text"] for t in again.history["turns"]] == ["hello", "Hello! How can I help you today?"]
        assert again.history["turns"][0]["client_msg_id"] == "once"

        # the widget resends a message it never saw acknowledged (it went offline): stored and answered once
        events = await again.say("hello", client_msg_id="once")
        assert of_type(events, "ack")[0]["duplicate"] is True
        assert bot_texts(events) == ["Hello! How can I help you today?"]
        conv = again.session["conversation_id"]
        assert len(svc.store.history(conv)) == 2
        tracker = await svc.services.rasa.tracker(conv)
        assert sum(e["event"] == "user" for e in tracker["events"]) == 1
        await again.close()


async def test_feedback_csat_and_ending_the_chat_are_stored(service_factory):
    async with service_factory() as svc:
        client = await WidgetClient.open(svc.ws_url)
        events = await client.say("what is my balance")
        [answer] = bot_messages(events)
        await client.send({"type": "feedback", "turn_id": answer["turn_id"], "value": "down"})
        assert (await client.next("feedback"))["value"] == "down"
        conv = client.session["conversation_id"]
        await client.send({"type": "end"})
        assert (await client.next("csat_request"))["conversation_id"] == conv
        await client.send({"type": "csat", "score": 2, "conversation_id": conv})
        assert (await client.next("csat"))["score"] == 2
        with svc.services.db.session() as s:
            row = s.get(Conversation, conv)
            assert (row.status, row.csat, row.has_negative_feedback) == ("closed", 2, True)
            assert s.get(Turn, answer["turn_id"]).feedback == -1
        # the next message starts a new conversation in the same session
        events = await client.say("hello")
        assert of_type(events, "ack")[0]["conversation_id"] != conv
        await client.close()


async def test_a_customer_cannot_reach_another_customers_conversation(service_factory):
    async with service_factory() as svc:
        alice = await WidgetClient.open(svc.ws_url)
        events = await alice.say("hello")
        [answer] = bot_messages(events)
        mallory = await WidgetClient.open(svc.ws_url)
        assert mallory.history["turns"] == []
        await mallory.send({"type": "feedback", "turn_id": answer["turn_id"], "value": "down"})
        assert (await mallory.next("error"))["code"] == "not_found"
        await mallory.send({"type": "csat", "score": 1, "conversation_id": alice.session["conversation_id"]})
        assert (await mallory.next("error"))["code"] == "not_found"
        await mallory.send({"type": "hello", "token": alice.token[:-2] + "xx"})
        assert (await mallory.next("error"))["code"] == "unknown_session"
        assert (await mallory.next("session"))["session_id"] != alice.session["session_id"]
        with svc.services.db.session() as s:
            assert s.get(Turn, answer["turn_id"]).feedback is None
        await alice.close()
        await mallory.close()


async def test_bad_frames_get_clear_errors_and_the_connection_keeps_working(service_factory):
    async with service_factory() as svc:
        client = await WidgetClient.open(svc.ws_url, hello=False)
        await client.send({"type": "message", "text": "hi"})
        assert "hello" in (await client.next("error"))["message"]
        await client.ws.send("this is not json{")
        assert (await client.next("error"))["code"] == "invalid_json"
        await client.ws.send(json.dumps([1, 2, 3]))
        assert (await client.next("error"))["code"] == "invalid_request"
        await client.hello()
        await client.send({"type": "dance"})
        assert "Unknown event type" in (await client.next("error"))["message"]
        events = await client.say("   ", client_msg_id="empty")
        assert of_type(events, "error")[0]["code"] == "empty_message"
        events = await client.say("x" * 100_000, client_msg_id="huge")
        [err] = of_type(events, "error")
        assert err["code"] == "message_too_long" and err["retry"] is False and "4000" in err["message"]
        events = await client.say("y" * 4001, client_msg_id="long")
        assert of_type(events, "error")[0]["code"] == "message_too_long"
        await client.send({"type": "feedback", "turn_id": "seven", "value": "meh"})
        assert (await client.next("error"))["code"] == "invalid_request"
        await client.send({"type": "csat", "score": 9})
        assert "1 to 5" in (await client.next("error"))["message"]
        assert bot_texts(await client.say("hello")) == ["Hello! How can I help you today?"]
        assert [t["text"] for t in svc.store.history(client.session["conversation_id"])] == [
            "hello", "Hello! How can I help you today?"]  # nothing bad was stored
        await client.close()


async def test_only_allowed_origins_may_open_the_widget(service_factory):
    async with service_factory(allowed_origins=["https://shop.example"]) as svc:
        ok = await WidgetClient.open(svc.ws_url, origin="https://shop.example")
        assert ok.session["session_id"]
        await ok.close()
        evil = await WidgetClient.open(svc.ws_url, origin="https://evil.example", hello=False)
        err = await evil.next("error")
        assert err["code"] == "origin_not_allowed"
        await asyncio.wait_for(evil.ws.wait_closed(), 5)
        assert evil.ws.close_code == 1008


async def test_rate_limits_answer_with_a_clear_error(service_factory):
    async with service_factory(session_rate_per_minute=6, session_rate_burst=2) as svc:
        client = await WidgetClient.open(svc.ws_url)
        await client.say("hello")
        await client.say("hello")
        events = await client.say("hello", client_msg_id="third")
        [err] = of_type(events, "error")
        assert err["code"] == "rate_limited" and err["retry"] is True and err["retry_after_s"] > 0
        assert "too fast" in err["message"]
        assert len(svc.store.history(client.session["conversation_id"])) == 4  # the third was not stored
        await client.close()
    async with service_factory(ip_rate_per_minute=6, ip_rate_burst=2) as svc:
        a = await WidgetClient.open(svc.ws_url)
        b = await WidgetClient.open(svc.ws_url)
        c = await WidgetClient.open(svc.ws_url, hello=False)  # a third new session from the same IP
        await c.send({"type": "hello"})
        assert (await c.next("error"))["code"] == "rate_limited"
        for client in (a, b, c):
            await client.close()


@pytest.mark.parametrize("source,tracker_url", [
    ("tracker_api", None),  # a Rasa whose tracker store the service cannot read
    ("tracker_store", "sqlite:////nonexistent/dir/rasa_tracker.db"),  # unreadable: falls back to the API
])
async def test_nlu_details_also_come_from_rasas_api(service_factory, source, tracker_url):
    overrides = {"rasa_tracker_url": tracker_url} if tracker_url else {}
    async with service_factory(nlu_details_source=source, **overrides) as svc:
        client = await WidgetClient.open(svc.ws_url)
        await client.say("what is my balance")
        await svc.channel.drain()
        asked, answer = svc.store.history(client.session["conversation_id"])
        assert (asked["intent"], answer["action"]) == ("check_balance", "action_balance")
        assert asked["confidence"] > 0.5
        await client.close()


async def test_closing_the_tab_while_the_bot_thinks_loses_nothing(service_factory):
    async with service_factory() as svc:
        client = await WidgetClient.open(svc.ws_url)
        conv = client.session["conversation_id"]
        await client.send({"type": "message", "text": "run the slow report", "client_msg_id": "leaving"})
        await client.next("ack")
        await client.close()  # gone before the (slow) answer
        for _ in range(100):
            if len(svc.store.history(conv)) == 2:
                break
            await asyncio.sleep(0.2)
        again = await WidgetClient.open(svc.ws_url, token=client.token)
        assert [(t["speaker"], t["text"]) for t in again.history["turns"]] == [
            ("customer", "run the slow report"), ("bot", "Here is your slow report.")]
        assert svc.store.history(conv)[0]["answered"] is True
        await again.close()
