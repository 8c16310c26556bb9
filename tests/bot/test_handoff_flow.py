"""The channel's side of the human handoff, with the real bot/handoff.py, the real Rasa and a SQLite store.

While a person has (or is about to have) a conversation, customer messages are stored and published
to the hub but never forwarded to Rasa; the agent's messages reach the widget with the agent's name.
"""

from __future__ import annotations

import pytest

from core.store.models import User
from tests.bot.widget_client import WidgetClient, bot_texts, of_type

pytestmark = pytest.mark.contract


def make_agent(db, name: str = "Alice Agent") -> dict:
    with db.session() as s:
        user = User(username=name.split()[0].lower(), display_name=name, password_hash="not-used", role="agent")
        s.add(user)
        s.flush()
        return {"id": user.id, "display_name": user.display_name, "username": user.username}


async def test_talk_to_a_person_then_the_agent_answers_by_name_and_hands_back(service_factory):
    async with service_factory() as svc:
        handoff = svc.services.handoff
        agent = make_agent(svc.services.db)
        console = svc.services.hub.subscribe()  # what every console tab sees
        client = await WidgetClient.open(svc.ws_url)
        await client.say("hello")
        conv = client.session["conversation_id"]

        await client.send({"type": "handoff"})
        answer = await client.next("handoff")
        assert answer["status"] == "waiting" and answer["agents_online"] == 0
        assert svc.store.get_conversation(conv)["status"] == "waiting"

        # waiting: stored and published to the console, not forwarded to Rasa
        events = await client.say("my card was stolen", client_msg_id="to-human", until="ack")
        assert bot_texts(events) == []
        published = [console.get_nowait() for _ in range(console.qsize())]
        assert any(e["type"] == "message" and e.get("text") == "my card was stolen" for e in published)

        await handoff.claim(conv, agent)
        joined = await client.next("agent_joined")
        assert joined["agent_name"] == "Alice Agent" and "agent" not in joined
        await handoff.agent_message(conv, agent, "Hi, I'm Alice. <b>Let me block it.</b>")
        msg = await client.next("message", speaker="agent")
        assert msg["agent_name"] == "Alice Agent" and msg["text"] == "Hi, I'm Alice. <b>Let me block it.</b>"

        await client.say("thanks", until="ack")
        tracker = await svc.services.rasa.tracker(conv)
        assert [e["text"] for e in tracker["events"] if e["event"] == "user"] == ["hello"]
        assert tracker["paused"] is True

        await handoff.hand_back(conv, agent)
        await client.next("agent_left")
        assert bot_texts(await client.say("hello")) == ["Hello! How can I help you today?"]
        history = svc.store.history(conv)
        speakers = [(t["speaker"], t["answered"]) for t in history if t["speaker"] in ("customer", "agent")]
        assert speakers == [("customer", True), ("customer", None), ("agent", None), ("customer", None),
                            ("customer", True)]
        await client.close()


async def test_a_rasa_handoff_payload_queues_the_conversation(service_factory):
    async with service_factory() as svc:
        client = await WidgetClient.open(svc.ws_url)
        events = await client.say("I want to talk to a person")
        assert bot_texts(events) == ["Let me find a person to help you."]
        queued = await client.next("handoff")
        assert queued["status"] == "waiting" and queued["reason"] == "bot"
        system = await client.next("message", speaker="system")
        assert "No agent is online" in system["text"]
        await client.send({"type": "contact", "email": "not an email"})
        assert "email" in (await client.next("error"))["message"]
        await client.send({"type": "contact", "email": "jo@example.com"})
        await client.next("contact_saved")
        conv = svc.store.get_conversation(client.session["conversation_id"])
        assert conv["status"] == "waiting" and conv["outcome"] == "handed_off"
        events = await client.say("hello?", until="ack")
        assert bot_texts(events) == [] and not of_type(events, "error")
        await client.close()
