"""Handoff on a real store (SQLite and PostgreSQL): the queue, an atomic claim, agent messages,
hand back and close, each stored and published on the hub; a dead Rasa never blocks a handoff."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bot.console.accounts import Accounts
from bot.handoff import NO_AGENT_TEXT, WAITING_TEXT, AlreadyClaimed, InvalidInput, NotAssigned
from tests.console import seed
from tests.console.conftest import PASSWORD


@pytest.fixture
def agents(db_services):
    accounts = Accounts(db_services.db)
    return accounts.add("ann", PASSWORD, "agent", "Ann Agent"), accounts.add("bob", PASSWORD, "agent", "Bob")


def drain(queue: asyncio.Queue) -> list[dict]:
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


async def test_request_claim_talk_hand_back_close(db_services, agents):
    ann, bob = agents
    handoff, store, hub = db_services.handoff, db_services.store, db_services.hub
    conv = seed.conversation(store, [{"text": "my card is lost", "intent": "lost_or_stolen_card", "confidence": 0.9}])
    cid = conv["id"]
    events = hub.subscribe(cid)

    assert await handoff.request(cid, "customer") == {"status": "waiting", "agents_online": 0}
    assert store.history(cid)[-1]["text"] == NO_AGENT_TEXT  # nobody online: the customer is told
    published = drain(events)
    assert published[0] == {"type": "handoff", "status": "waiting", "reason": "customer", "agents_online": 0,
                            "leave_message": True, "conversation_id": cid}
    assert published[1]["type"] == "message" and published[1]["text"] == NO_AGENT_TEXT
    assert (await handoff.request(cid, "customer"))["status"] == "waiting"  # asking twice changes nothing

    await handoff.leave_contact(cid, "jane@example.com")
    with pytest.raises(InvalidInput):
        await handoff.leave_contact(cid, "not an address <script>")

    claimed = await handoff.claim(cid, ann)
    assert claimed["status"] == "human" and claimed["agent"] == "Ann Agent"
    assert claimed["rasa_paused"] is False  # Rasa is down in this test: logged, the handoff still holds
    assert [e["type"] for e in drain(events)][-2:] == ["agent_joined", "message"]
    with pytest.raises(AlreadyClaimed, match="Ann Agent already has"):
        await handoff.claim(cid, bob)
    with pytest.raises(NotAssigned):
        await handoff.agent_message(cid, bob, "hi, Bob here")
    with pytest.raises(InvalidInput):
        await handoff.agent_message(cid, ann, "   ")
    with pytest.raises(InvalidInput, match="limited"):
        await handoff.agent_message(cid, ann, "x" * (db_services.settings.max_message_chars + 1))

    sent = await handoff.agent_message(cid, ann, "Hi, I'm Ann. I've blocked the card.")
    assert drain(events) == [{"type": "message", **sent, "conversation_id": cid}]
    row = store.history(cid)[-1]
    assert (row["speaker"], row["agent_name"], row["agent_id"]) == ("agent", "Ann Agent", ann.id)

    # the customer writes while the agent has it: the channel stores it and does not ask Rasa
    reply = store.append_customer_turn(conv["session"]["session_id"], "widget", "thanks!", "m-1")
    assert reply["status"] == "human"

    with pytest.raises(NotAssigned):
        await handoff.hand_back(cid, bob)
    back = await handoff.hand_back(cid, ann)
    assert back == {"status": "bot", "rasa_resumed": False}
    assert store.get_conversation(cid)["status"] == "bot"
    assert await handoff.close(cid, ann) == {"status": "closed"}
    final = store.get_conversation(cid)
    assert (final["status"], final["outcome"]) == ("closed", "handed_off")
    assert store.get_conversation(cid)["ended_at"]
    texts = [t["text"] for t in store.history(cid) if t["speaker"] == "system"]
    assert texts[-3:] == ["Ann Agent joined the conversation.", "Ann Agent handed the conversation back to the bot.",
                          "Conversation closed by Ann Agent."]
    seqs = [t["seq"] for t in store.history(cid)]
    assert seqs == list(range(len(seqs)))
    assert await handoff.close(cid, ann) == {"status": "closed"}  # idempotent
    with pytest.raises(AlreadyClaimed, match="closed"):
        await handoff.claim(cid, ann)
    await db_services.rasa.aclose()  # the Rasa client's session of this test's event loop


async def test_waiting_message_when_agents_are_online(db_services, agents):
    handoff = db_services.handoff
    conv = seed.conversation(db_services.store, [{"text": "human please", "intent": "request_human",
                                                  "confidence": 0.95}])
    handoff.agent_connected(agents[0].id)
    handoff.agent_connected(agents[0].id)  # two tabs, one agent
    assert handoff.agents_online() == 1
    assert await handoff.request(conv["id"], "bot") == {"status": "waiting", "agents_online": 1}
    assert db_services.store.history(conv["id"])[-1]["text"] == WAITING_TEXT
    handoff.agent_disconnected(agents[0].id)
    handoff.agent_disconnected(agents[0].id)
    assert handoff.agents_online() == 0


def test_two_agents_claiming_at_once_one_wins(db_services, agents):
    """Two agents press "take over" at the same moment, each in its own thread and connection."""
    handoff = db_services.handoff
    for _ in range(3):
        conv = seed.conversation(db_services.store, [{"text": "help", "intent": "request_human", "confidence": 0.9}])
        seed.run(db_services, handoff.request(conv["id"], "customer"))
        barrier = threading.Barrier(2)
        results: dict[str, object] = {}

        def attempt(agent, barrier=barrier, results=results, conv=conv):
            barrier.wait()
            try:
                results[agent.username] = seed.run(db_services, handoff.claim(conv["id"], agent))
            except AlreadyClaimed as exc:
                results[agent.username] = exc

        threads = [threading.Thread(target=attempt, args=(a,)) for a in agents]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        winners = [name for name, r in results.items() if isinstance(r, dict)]
        losers = [name for name, r in results.items() if isinstance(r, AlreadyClaimed)]
        assert len(winners) == 1 and len(losers) == 1, results
        row = db_services.store.get_conversation(conv["id"])
        assert row["status"] == "human"
        joined = [t for t in db_services.store.history(conv["id"]) if t["text"].endswith("joined the conversation.")]
        assert len(joined) == 1
