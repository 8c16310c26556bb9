"""Contract: the real Rasa server with the trained demo model, the real action server (rasa-sdk on
Python 3.11) and the real bot service answer customers end to end, and everything lands in the store."""

from __future__ import annotations

import re
import sqlite3

import httpx
import pytest

from bot.apikeys import ApiKeys
from core.store.db import Database

pytestmark = pytest.mark.contract


@pytest.fixture(scope="module")
def api(stack):
    db = Database(stack.settings.db_url)
    key, _ = ApiKeys(db).create("contract-tests")
    db.dispose()
    client = httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {key}"}, timeout=30.0)
    yield client
    client.close()


def say(api, text: str, session_id: str | None = None) -> dict:
    r = api.post("/api/messages", json={"session_id": session_id, "text": text})
    assert r.status_code == 200, r.text
    return r.json()


def db_rows(stack, query: str, *args) -> list[tuple]:
    path = stack.settings.db_url.split(":///", 1)[1]
    with sqlite3.connect(path) as conn:
        return conn.execute(query, args).fetchall()


def test_question_is_answered_from_the_knowledge_base_with_its_source(api, stack):
    out = say(api, "How do I top up my account by bank transfer?")
    assert out["answered"] is True
    texts = " ".join(r["text"] for r in out["replies"]).lower()
    assert "transfer" in texts
    sources = [s for r in out["replies"] for s in (r.get("sources") or [])]
    assert sources, f"a KB answer must cite its source: {out}"
    assert any("top" in (s["title"] + (s.get("url") or "")).lower() for s in sources), sources
    # both turns are stored, the bot turn with the action and the KB sources; the customer turn with NLU details
    rows = db_rows(stack, "SELECT speaker, intent, confidence, action, sources FROM turns WHERE conversation_id = ? "
                          "ORDER BY seq", out["conversation_id"])
    speakers = [r[0] for r in rows]
    assert speakers[0] == "customer" and "bot" in speakers
    customer = rows[0]
    assert customer[1] == "transfer_into_account" or customer[1].startswith("top_up"), customer
    assert 0.0 < customer[2] <= 1.0
    bot_rows = [r for r in rows if r[0] == "bot"]
    assert any(r[3] == "action_answer_question" and r[4] for r in bot_rows), bot_rows


def test_lost_card_form_runs_to_the_end_and_an_anonymous_visitor_blocks_nothing(api, stack):
    # The form runs for everyone; the block itself needs a verified identity (bot/identity.py; the verified
    # path through Rasa: tests/actions/test_rasa_project.py).
    first = say(api, "I lost my card")
    sid, cid = first["session_id"], first["conversation_id"]
    assert "four digits" in " ".join(r["text"] for r in first["replies"]).lower()
    second = say(api, "it ends in 4821", sid)
    assert "4821" in " ".join(r["text"] for r in second["replies"])
    third = say(api, "yes", sid)
    final = " ".join(r["text"] for r in third["replies"]).lower()
    assert "really you" in final and "blocked" not in final, third
    tables = {r[0] for r in db_rows(stack, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "bank_card_blocks" in tables:  # the sample bank creates its table on the first block
        assert db_rows(stack, "SELECT card_last4 FROM bank_card_blocks WHERE customer_id = ?", cid) == []


def test_an_anonymous_visitor_blocks_a_card_after_the_stepup_and_the_code_is_stored_nowhere(api, stack):
    first = say(api, "I lost my card")
    sid, cid = first["session_id"], first["conversation_id"]
    assert "4821" in " ".join(r["text"] for r in say(api, "it ends in 4821", sid)["replies"])
    assert "really you" in " ".join(r["text"] for r in say(api, "yes", sid)["replies"])
    asked = say(api, "dana.demo@example.com", sid)  # a sample customer of the demo bank (actions/bank.py)
    assert "6-digit code" in " ".join(r["text"] for r in asked["replies"])
    [(body,)] = db_rows(stack, "SELECT body FROM bank_outbox WHERE customer_id = 'hb-100001' ORDER BY id DESC LIMIT 1")
    code = re.search(r"\b(\d{6})\b", body).group(1)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    refused = say(api, wrong, sid)
    assert "isn't right" in " ".join(r["text"] for r in refused["replies"])
    [(typed,)] = db_rows(stack, "SELECT text FROM turns WHERE conversation_id = ? AND speaker = 'customer' "
                                "ORDER BY seq DESC LIMIT 1", cid)
    assert typed == "[ONE_TIME_CODE]"  # what the transcript holds, not the code
    done = say(api, code, sid)
    assert "is now blocked" in " ".join(r["text"] for r in done["replies"]), done
    assert db_rows(stack, "SELECT card_last4 FROM bank_card_blocks WHERE customer_id = 'hb-100001'") == [("4821",)]

    turns = db_rows(stack, "SELECT text, COALESCE(rasa_text, '') FROM turns WHERE conversation_id = ?", cid)
    assert not any(code in t or code in r or wrong in t or wrong in r for t, r in turns)
    with sqlite3.connect(stack.settings.rasa_tracker_url.split(":///", 1)[1]) as conn:
        events = [r[0] for r in conn.execute("SELECT data FROM events WHERE sender_id = ?", (cid,))]
    assert events and not any(code in e or wrong in e for e in events)  # nor in Rasa's tracker store


def test_greeting_offers_quick_replies(api):
    out = say(api, "hello there")
    assert any(r.get("buttons") for r in out["replies"]), out


def test_health_of_every_service(stack):
    for svc in stack.services.values():
        assert svc.healthy(), f"{svc.name} is not healthy: {svc.tail()}"
