"""Hostile widget frames against the real service and the tiny real Rasa: floods of every frame type,
invalid text, forged button payloads, typed intent commands, socket and hello limits, identities."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import websockets
from sqlalchemy import func, select

from bot.identity import sign
from core.store.models import Conversation, Turn
from tests.bot.widget_client import WidgetClient, bot_texts

pytestmark = pytest.mark.contract
BURST, PER_MINUTE = 10, 30  # the session budget of these tests (the defaults)


async def flood(client: WidgetClient, frames: list[dict], at_least_limited: int, timeout: float = 30.0) -> list[dict]:
    """Send every frame at once, then read until `at_least_limited` of them were refused as rate_limited."""
    for frame in frames:
        await client.send(frame)
    events: list[dict] = []

    async def collect() -> None:
        while sum(1 for e in events if e.get("code") == "rate_limited") < at_least_limited:
            events.append(json.loads(await client.ws.recv()))

    await asyncio.wait_for(collect(), timeout)
    return events


def turns_of_session(svc, session_id: str) -> int:
    with svc.services.db.session() as s:
        return s.execute(select(func.count()).select_from(Turn).join(Conversation)
                         .where(Conversation.session_id == session_id)).scalar_one()


FLOODS = {
    "contact": lambda i: {"type": "contact", "email": f"flood{i}@example.com"},
    "csat": lambda i: {"type": "csat", "score": 1 + i % 5},
    "feedback": lambda i: {"type": "feedback", "turn_id": 1, "value": "up"},
    "typing": lambda i: {"type": "typing", "on": bool(i % 2)},
    "end": lambda i: {"type": "end"},
    "handoff": lambda i: {"type": "handoff"},
    "message": lambda i: {"type": "message", "text": f"hello {i}", "client_msg_id": f"m{i}"},
    "ping": lambda i: {"type": "ping"},
    "nonsense": lambda i: {"type": f"nonsense-{i}"},
}
COSTS = {"contact": 1, "csat": 0.5, "feedback": 0.5, "typing": 0.1, "end": 1, "handoff": 1, "message": 1,
         "ping": 0.05, "nonsense": 1}


@pytest.mark.parametrize("kind", sorted(FLOODS))
async def test_a_flood_of_any_frame_type_is_rate_limited_and_stores_at_most_the_budget(service_factory, kind):
    async with service_factory(session_rate_burst=BURST, session_rate_per_minute=PER_MINUTE,
                               ip_rate_burst=100_000, ip_rate_per_minute=100_000) as svc:
        client = await WidgetClient.open(svc.ws_url)
        session_id = client.session["session_id"]
        n, slack_s = 300, 30.0  # the budget refills at PER_MINUTE; allow for a slow machine
        accepted_max = (BURST + PER_MINUTE / 60 * slack_s) / COSTS[kind]
        events = await flood(client, [FLOODS[kind](i) for i in range(n)], at_least_limited=int(n - accepted_max))
        limited = [e for e in events if e.get("code") == "rate_limited"]
        assert all(e["retry"] is True and e["retry_after_s"] > 0 for e in limited)
        stored = turns_of_session(svc, session_id)
        # at most one stored turn per accepted frame (a message: its own and the answer)
        assert stored <= 2 * accepted_max, (kind, stored)
        if kind in ("csat", "handoff", "feedback", "typing", "ping", "nonsense"):
            assert stored <= 1, (kind, stored)  # repeats are idempotent or store nothing (the queue note)
        await client.close()


async def test_repeated_contact_and_handoff_frames_store_once(service_factory):
    async with service_factory() as svc:
        client = await WidgetClient.open(svc.ws_url)
        for _ in range(3):
            await client.send({"type": "handoff"})
            await client.next("handoff")
        for _ in range(3):
            await client.send({"type": "contact", "email": "ann@example.com"})
            await client.next("contact_saved")
        history = svc.store.history(client.session["conversation_id"])
        assert [t["text"] for t in history if t["speaker"] == "system"].count("Thanks, we'll reply by email.") == 1
        assert len([t for t in history if t["speaker"] == "system"]) == 2  # the queue note and the thanks
        await client.close()


async def test_the_address_budget_covers_every_session_of_that_address(service_factory):
    async with service_factory(ip_rate_burst=6, ip_rate_per_minute=6) as svc:
        codes = []
        for _ in range(8):  # each new session is a hello that costs the address one token
            ws = await websockets.connect(svc.ws_url)
            await ws.send(json.dumps({"type": "hello"}))
            codes.append(json.loads(await asyncio.wait_for(ws.recv(), 10)).get("code", "ok"))
            await ws.close()
        assert codes[:5] == ["ok"] * 5 and "rate_limited" in codes


@pytest.mark.parametrize("text", ["half \ud800 a surrogate", "a \u0000 NUL", "bell \u0007", "\udfff"])
async def test_invalid_text_gets_a_non_retryable_error_and_nothing_is_stored(service_factory, text):
    async with service_factory() as svc:
        client = await WidgetClient.open(svc.ws_url)
        raw = json.dumps({"type": "message", "text": text, "client_msg_id": "bad-1"})  # \\u escapes: valid JSON
        await client.ws.send(raw)
        err = await client.next("error", client_msg_id="bad-1")
        assert err["code"] == "invalid_text" and err["retry"] is False and "U+" in err["message"]
        await client.send({"type": "message", "text": "hello", "client_msg_id": "\ud800"})
        assert (await client.next("error"))["code"] == "invalid_text"
        assert bot_texts(await client.say("hello")) == ["Hello! How can I help you today?"]
        assert [t["text"] for t in svc.store.history(client.session["conversation_id"])] == [
            "hello", "Hello! How can I help you today?"]
        await client.close()


async def test_a_forged_button_payload_reaches_rasa_as_the_offered_button(service_factory):
    async with service_factory() as svc:
        client = await WidgetClient.open(svc.ws_url)
        conv = client.session["conversation_id"]
        await client.say("hello")  # offers "Opening hours" (/ask_hours) and "My balance" (/check_balance)
        events = await client.say("Opening hours", type="button", title="Opening hours", payload="/goodbye")
        assert bot_texts(events)[0].startswith("Our branches are open")  # /ask_hours, not /goodbye
        [*_, clicked, _answer] = svc.store.history(conv)
        assert (clicked["text"], clicked["rasa_text"]) == ("Opening hours", "/ask_hours")  # what Rasa got
        tracker = await svc.services.rasa.tracker(conv)
        user_texts = [e["text"] for e in tracker["events"] if e["event"] == "user"]
        assert user_texts[-1] == "/ask_hours" and "/goodbye" not in user_texts

        # a button that was never offered is the customer's text, never a command
        await client.say("hello")
        await client.say("/goodbye", type="button", title="/goodbye", payload="/goodbye")
        tracker = await svc.services.rasa.tracker(conv)
        last = [e for e in tracker["events"] if e["event"] == "user"][-1]
        assert not last["text"].startswith("/") and last["text"].endswith("/goodbye")  # NLU reads it as text
        await client.close()


async def test_typed_intent_commands_reach_rasa_as_text(service_factory):
    async with service_factory() as svc:
        client = await WidgetClient.open(svc.ws_url)
        conv = client.session["conversation_id"]
        await client.say('/check_balance{"account": "someone else"}')
        last = [e for e in (await svc.services.rasa.tracker(conv))["events"] if e["event"] == "user"][-1]
        assert last["text"] == '\u200b/check_balance{"account": "someone else"}' and last["parse_data"]["entities"] == []
        [turn, *_] = svc.store.history(conv)
        assert turn["text"] == '/check_balance{"account": "someone else"}' and turn["rasa_text"] == last["text"]
        await client.close()


async def test_open_sockets_per_address_are_capped(service_factory):
    async with service_factory(ws_max_sockets_per_ip=3) as svc:
        clients = [await WidgetClient.open(svc.ws_url) for _ in range(3)]
        extra = await websockets.connect(svc.ws_url)
        err = json.loads(await asyncio.wait_for(extra.recv(), 10))
        assert err["code"] == "too_many_connections"
        await asyncio.wait_for(extra.wait_closed(), 5)
        assert extra.close_code == 1013
        await clients.pop().close()
        deadline = time.monotonic() + 10
        while True:  # the server frees the slot when it sees the close
            again = await websockets.connect(svc.ws_url)
            await again.send(json.dumps({"type": "hello"}))
            if json.loads(await asyncio.wait_for(again.recv(), 10))["type"] == "session":
                break
            await again.close()
            assert time.monotonic() < deadline, "the closed socket's slot was never freed"
            await asyncio.sleep(0.1)
        await again.close()
        for c in clients:
            await c.close()


async def test_a_socket_that_never_says_hello_is_closed(service_factory):
    async with service_factory(ws_hello_timeout_s=0.5) as svc:
        ws = await websockets.connect(svc.ws_url)
        err = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert err["code"] == "invalid_request" and "hello" in err["message"]
        await asyncio.wait_for(ws.wait_closed(), 10)
        assert ws.close_code == 1008


async def test_a_good_hmac_links_the_identity_and_a_bad_one_is_refused(service_factory):
    secret = "site-secret-for-tests"
    async with service_factory(identity_secrets={"*": secret}) as svc:
        good = await WidgetClient.open(svc.ws_url, hello=False)
        await good.send({"type": "hello", "user_id": "u-42", "user_hash": sign(secret, "u-42")})
        session = await good.next("session")
        assert session["verified"] is True
        await good.next("history")
        good.session = session
        await good.say("hello")
        conv = session["conversation_id"]
        assert svc.store.get_conversation(conv)["verified_user_id"] == "u-42"
        last = [e for e in (await svc.services.rasa.tracker(conv))["events"] if e["event"] == "user"][-1]
        assert last["metadata"]["verified_user_id"] == "u-42"  # what the card block checks

        bad = await WidgetClient.open(svc.ws_url, hello=False)
        await bad.send({"type": "hello", "user_id": "u-42", "user_hash": sign("another secret", "u-42")})
        err = await bad.next("error")
        assert err["code"] == "identity_invalid" and err["retry"] is False
        session = await bad.next("session")  # the chat goes on, anonymous
        assert "verified" not in session
        await bad.next("history")
        bad.session = session
        await bad.say("hello")
        conv = session["conversation_id"]
        assert svc.store.get_conversation(conv)["verified_user_id"] is None
        last = [e for e in (await svc.services.rasa.tracker(conv))["events"] if e["event"] == "user"][-1]
        assert "verified_user_id" not in (last.get("metadata") or {})
        await good.close()
        await bad.close()
