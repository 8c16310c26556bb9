"""The handoff queue reads like an inbox (humanised wait, why, last message, verified name), times reach
the page as ISO UTC for the agent's time zone, and the takeover summary of the bot's part: the pure
function on hand-made turns, and the transcript page and API after a real handoff (real SQLite file)."""

from __future__ import annotations

import datetime as dt

from bs4 import BeautifulSoup

from bot.channel import Channel
from bot.console.listing import waited
from bot.console.takeover import handoff_why, summarise
from bot.replies import parse_replies
from tests.console import seed

NOW = dt.datetime(2026, 5, 4, 12, tzinfo=dt.UTC)
KB_NOTE = {"supportbot": {"sources": [{"title": "Card swallowed by an ATM", "url": "https://bank.example/swallowed",
                                       "doc_id": "card_swallowed.md", "score": 0.8}], "answer_source": "kb"}}


def test_waits_read_as_people_say_them():
    assert [waited(NOW - dt.timedelta(seconds=s), NOW) for s in (5, 59, 60, 3 * 60 + 20, 3600, 3600 + 5 * 60,
                                                                  26 * 3600, 72 * 3600)] == [
        "just now", "just now", "1 min", "3 min", "1 h", "1 h 5 min", "1 day", "3 days"]
    assert waited(NOW + dt.timedelta(minutes=1), NOW) == "just now"  # a clock a little ahead is not negative


def test_why_the_bot_handed_off():
    assert handoff_why({"handoff_reason": "customer"}) == "The customer pressed “Talk to a person”."
    assert handoff_why({"handoff_reason": "bot", "handoff_detail": "customer_request"}) == (
        "The customer asked the bot for a person.")
    assert handoff_why({"handoff_reason": "bot", "handoff_detail": "intent:card_swallowed"}) == (
        "The bot hands off on “card_swallowed”.")
    assert handoff_why({}) == ""


def test_the_summary_of_the_bots_part():
    turns = [
        {"speaker": "customer", "text": "hi", "intent": "greet"},
        {"speaker": "bot", "text": "Hello!", "answer_source": "rule"},
        {"speaker": "customer", "text": "the ATM ate my card 4421", "intent": "card_swallowed",
         "entities": [{"entity": "card_last4", "value": "4421"}]},
        {"speaker": "bot", "text": "If an ATM keeps your card…", "answer_source": "kb",
         "sources": [{"title": "Card swallowed by an ATM", "url": "https://bank.example/swallowed"}]},
        {"speaker": "customer", "text": "thanks, I am Ann", "intent": "inform"},
        {"speaker": "bot", "text": "Thanks, Ann.", "answer_source": "learnt"},
        {"speaker": "customer", "text": "it is still inside", "intent": "card_swallowed"},
        {"speaker": "bot", "text": "I'm not sure.", "answer_source": "fallback"},
        {"speaker": "customer", "text": "person please", "intent": "request_human"},
        {"speaker": "agent", "text": "Hi, Bob here", "answer_source": "agent"},
        {"speaker": "customer", "text": "after the agent", "intent": "change_pin"},
    ]
    s = summarise(turns, {"handoff_reason": "bot", "handoff_detail": "customer_request", "slots": {"name": "Ann"}})
    assert s["asked"] == [{"intent": "card_swallowed", "count": 2}, {"intent": "inform", "count": 1},
                          {"intent": "request_human", "count": 1}]  # greetings left out, the agent's part too
    assert s["slots"] == {"card_last4": "4421", "name": "Ann"}
    assert s["articles"] == [{"title": "Card swallowed by an ATM", "url": "https://bank.example/swallowed"}]
    assert s["replies"] == ["Thanks, Ann."] and s["fallbacks"] == 1
    assert s["last_customer"] == "person please" and s["why"] == "The customer asked the bot for a person."


def _handed_off_by_the_bot(services):
    store = services.store
    c = seed.conversation(store, [{"text": "hello", "intent": "greet", "confidence": 0.99, "reply": "Hi!"}])
    replies, _ = parse_replies([{"text": "If an ATM keeps your card, we block it."}, {"custom": KB_NOTE}])
    turn = store.append_customer_turn(c["session"]["session_id"], "widget", "the ATM swallowed my card", None)
    store.record_replies(c["id"], turn["turn_id"], replies, {"intent": "card_swallowed", "confidence": 0.9,
                                                              "actions": ["action_answer_question"]})
    turn = store.append_customer_turn(c["session"]["session_id"], "widget", "I need it back today", None)
    handoff_replies, handoff = parse_replies([{"text": "Let me connect you with a colleague."},
                                              {"custom": {"supportbot": {"sources": [], "handoff": True,
                                                                         "reason": "intent:card_swallowed"}}}])
    store.record_replies(c["id"], turn["turn_id"], handoff_replies, {"intent": "card_swallowed", "confidence": 0.8,
                                                                      "actions": ["action_handoff"]})
    assert handoff
    store.link_identity(c["session"]["session_id"], c["id"], "customer-881")
    seed.run(services, Channel(services)._bot_handoff(c["id"], handoff_replies))  # what the channel does
    return c


def test_the_queue_reads_like_an_inbox(services, client_for):
    c = _handed_off_by_the_bot(services)
    ann = client_for("agent")
    [row] = ann.get("/api/console/queue").json()["waiting"]
    assert row["id"] == c["id"] and row["waited"] == "just now"
    assert row["why"] == "The bot hands off on “card_swallowed”."
    assert row["last_message"] == "I need it back today" and row["verified_user"] == "customer-881"
    assert dt.datetime.fromisoformat(row["waiting_since"]).tzinfo is not None  # ISO UTC for the browser
    page = BeautifulSoup(ann.get("/console/queue").text, "html.parser")
    item = page.select_one(f'#waiting-list li[data-id="{c["id"]}"]')
    assert item.select_one(".waited").text == "just now" and item.select_one(".waited")["data-since"]
    assert "card_swallowed" in item.select_one(".why").text and "customer-881" in item.select_one(".who").text
    assert page.select_one("#notify-toggle") is not None
    assert page.select_one('script[src="/console/static/inbox.js"]') is not None


def test_times_carry_iso_utc_for_the_agents_time_zone(services, client_for):
    c = _handed_off_by_the_bot(services)
    page = BeautifulSoup(client_for("agent").get(f"/console/conversations/{c['id']}").text, "html.parser")
    times = page.select("time[datetime]")
    assert times and all(dt.datetime.fromisoformat(t["datetime"]).utcoffset() == dt.timedelta(0) for t in times)
    assert not page.select("time time")  # one element per time


def test_the_takeover_summary_on_the_transcript(services, client_for):
    c = _handed_off_by_the_bot(services)
    ann = client_for("agent")
    page = BeautifulSoup(ann.get(f"/console/conversations/{c['id']}").text, "html.parser")
    assert "card_swallowed" in page.select_one("#takeover-asked").text
    assert page.select_one("#takeover-articles a").text == "Card swallowed by an ATM"
    assert page.select_one("#takeover-why").text == "The bot hands off on “card_swallowed”."
    assert page.select_one("#takeover-last").text == "I need it back today"
    api = ann.get(f"/api/console/conversations/{c['id']}").json()
    assert api["takeover"]["asked"] == [{"intent": "card_swallowed", "count": 2}]
    plain = seed.conversation(services.store, [{"text": "hello", "intent": "greet", "confidence": 0.99}])
    assert ann.get(f"/api/console/conversations/{plain['id']}").json()["takeover"] is None
