"""supportbot's Rasa channel (rasa_plugins/channel.py) in the real tiny Rasa server, and the service using it.

The answer to a message must carry that message's own tracker events (parse data and the actions
that followed), as Rasa stored them, so the service stores the NLU details without reading Rasa's
database or API; Rasa's REST channel keeps working beside it.
"""

from __future__ import annotations

import json
import sqlite3
import uuid

import aiohttp
import pytest

from bot.rasa_client import RasaClient, RasaUnavailable
from tests.bot.widget_client import WidgetClient

# every test here starts a real tiny Rasa (trained once per run) or Rasa's runtime
pytestmark = pytest.mark.slow


async def _post(url: str, body: dict) -> tuple[int, object]:
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as r:
        return r.status, await r.json(content_type=None)


async def test_the_answer_carries_this_turns_tracker_events(rasa_server):
    sender = f"channel-{uuid.uuid4().hex}"
    status, first = await _post(f"{rasa_server.url}/webhooks/supportbot/webhook",
                                {"sender": sender, "message": "hello", "metadata": {"turn_id": 1}})
    assert status == 200
    status, second = await _post(f"{rasa_server.url}/webhooks/supportbot/webhook",
                                 {"sender": sender, "message": "what is my balance", "metadata": {"turn_id": 2}})
    assert status == 200
    events = second["events"]
    # only the second turn: its user event first, with the parse data and our metadata
    assert [e["event"] for e in events].count("user") == 1 and events[0]["event"] == "user"
    assert events[0]["text"] == "what is my balance" and events[0]["metadata"]["turn_id"] == 2
    assert events[0]["parse_data"]["intent"]["name"] == "check_balance"
    assert events[0]["input_channel"] == "supportbot"
    assert "action_balance" in [e.get("name") for e in events if e["event"] == "action"]
    assert [m["text"] for m in second["messages"]] == [e["text"] for e in events if e["event"] == "bot"]
    assert first["events"][0]["metadata"]["turn_id"] == 1
    # exactly what Rasa's tracker store holds for the turn
    db = rasa_server.tracker_url.split(":///", 1)[1]
    with sqlite3.connect(db) as conn:
        stored = [json.loads(d) for (d,) in conn.execute(
            "SELECT data FROM events WHERE sender_id = ? ORDER BY id", (sender,))]
    start = max(i for i, e in enumerate(stored) if e["event"] == "user")
    assert stored[start:] == events


async def test_rest_channel_still_answers_and_a_bad_request_is_refused(rasa_server):
    status, messages = await _post(f"{rasa_server.url}/webhooks/rest/webhook",
                                   {"sender": f"rest-{uuid.uuid4().hex}", "message": "hello"})
    assert status == 200 and isinstance(messages, list) and messages[0]["text"]
    status, body = await _post(f"{rasa_server.url}/webhooks/supportbot/webhook", {"sender": "x", "message": 42})
    assert status == 400 and "message" in body["error"]


async def test_rasa_client_reads_both_channels(rasa_server):
    ours, rest = RasaClient(rasa_server.url), RasaClient(rasa_server.url, channel="rest")
    try:
        a = await ours.send(f"c-{uuid.uuid4().hex}", "hello", metadata={"turn_id": 7})
        b = await rest.send(f"c-{uuid.uuid4().hex}", "hello", metadata={"turn_id": 7})
        assert [m["text"] for m in a.messages] == [m["text"] for m in b.messages] != []
        assert a.events[0]["metadata"]["turn_id"] == 7 and b.events is None
    finally:
        await ours.aclose()
        await rest.aclose()


async def test_a_rasa_without_our_channel_gets_an_error_that_says_what_to_do(tiny_model, action_server, tmp_path):
    from tests.support import RASA_BIN, free_port, start, stop, wait_http

    (tmp_path / "credentials.yml").write_text("rest:\n")
    (tmp_path / "endpoints.yml").write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{action_server.port}/webhook"\n')
    port = free_port()
    proc = start([str(RASA_BIN), "run", "--model", str(tiny_model), "--port", str(port), "--interface", "127.0.0.1",
                  "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"], tmp_path / "rasa.log",
                 cwd=tmp_path)
    client = RasaClient(f"http://127.0.0.1:{port}")
    try:
        wait_http(f"http://127.0.0.1:{port}/", timeout=180, proc=proc)
        try:
            await client.send("someone", "hello")
            raise AssertionError("a Rasa without the supportbot channel answered")
        except RasaUnavailable as exc:
            assert "rasa_plugins.channel.TurnInput" in str(exc) and "SUPPORTBOT_NLU_DETAILS_SOURCE" in str(exc)
    finally:
        await client.aclose()
        stop(proc)


async def test_the_service_stores_nlu_details_from_the_answer_alone(service_factory):
    # Rasa's tracker store is unreadable from here: had the service read it, it would have warned
    async with service_factory(rasa_tracker_url="sqlite:////nonexistent/dir/rasa_tracker.db") as svc:
        client = await WidgetClient.open(svc.ws_url)
        await client.say("what is my balance")
        asked, answer = svc.store.history(client.session["conversation_id"])
        assert (asked["intent"], answer["action"]) == ("check_balance", "action_balance")
        assert asked["confidence"] > 0.5 and asked["answered"] is True
        assert svc.services.tracker_events._warned is False  # never tried to read the store
        await client.close()


def test_only_turns_the_channel_waits_for_are_kept_and_they_never_pile_up():
    from tests.rasa_plugins.test_lock_store import run_rasa

    code = """
import json
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
import rasa_plugins.channel as ch

ch.MAX_WAITING = 3
def turn(channel, mid):
    return [UserUttered("hi", {"name": "greet", "confidence": 0.9}, input_channel=channel, message_id=mid),
            ActionExecuted("utter_greet"), BotUttered("Hello!"), ActionExecuted("action_listen")]
ch.remember(turn("rest", "r1"))  # another channel's turn
ch.remember(turn("supportbot", "late"))  # a later save of a turn nobody waits for (e.g. an API event)
unexpected_kept = len(ch._turns)
for i in range(5):
    ch.expect(f"m{i}")
    ch.remember([*turn("supportbot", "old"), *turn("supportbot", f"m{i}")])
events = ch.collect("m4")
print(json.dumps({"unexpected_kept": unexpected_kept, "waiting": list(ch._turns), "events": events,
                  "again": ch.collect("m4")}))
"""
    out = json.loads(run_rasa(code).stdout.strip().splitlines()[-1])
    assert out["unexpected_kept"] == 0  # neither the REST channel's turn nor one nobody is waiting for
    assert out["waiting"] == ["m2", "m3"]  # at most 3 wait (m0, m1 dropped); m4 was collected
    assert [e["event"] for e in out["events"]] == ["user", "action", "bot", "action"]  # the newest turn only
    assert out["events"][0]["message_id"] == "m4" and out["again"] is None
