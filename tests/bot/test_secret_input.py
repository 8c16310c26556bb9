"""The answer to a secret question (the step-up's one-time code) is stored as a placeholder, never as
typed: the bot's annotated question read from real Rasa output shape, then the real store on SQLite
and PostgreSQL. (Through the whole platform, Rasa's tracker included: tests/contract/test_demo_bot.py.)"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.conversations import ConversationStore
from bot.replies import parse_replies
from bot.sessions import Sessions
from core.store.db import Database
from core.store.models import Turn

# what Rasa's REST channel answers for action_ask_stepup_code: the text, then the action's annotation
ASKED = [{"recipient_id": "c", "text": "Please type the 6-digit code we've sent to those details."},
         {"recipient_id": "c", "custom": {"supportbot": {"sources": [], "secret_input": "one_time_code"}}}]


@pytest.fixture
def store(db_url):
    db = Database(db_url)
    db.migrate()
    yield ConversationStore(db, retry_s=10.0)
    db.dispose()


def test_the_question_for_a_secret_is_read_from_its_annotation():
    replies, handoff = parse_replies(ASKED)
    assert replies == [{"text": ASKED[0]["text"], "secret_input": "one_time_code"}] and handoff is False
    [plain], _ = parse_replies([{"text": "Hello", "custom": None}])
    assert "secret_input" not in plain


def test_the_answer_to_a_secret_question_is_stored_as_a_placeholder(store):
    _token, session = Sessions(store).create_widget_session(origin="https://shop.example")
    first = store.append_customer_turn(session["session_id"], "widget", "I lost my card", "m1")
    conv = first["conversation_id"]
    replies, _ = parse_replies(ASKED)
    [asked] = store.record_replies(conv, first["turn_id"], replies)
    assert asked["secret_input"] == "one_time_code"

    answer = store.append_customer_turn(session["session_id"], "widget", "482913", "m2", rasa_text="482913")
    assert (answer["text"], answer["rasa_text"], answer["secret_input"]) == ("[ONE_TIME_CODE]", None, "one_time_code")
    resent = store.append_customer_turn(session["session_id"], "widget", "482913", "m2")
    assert resent["duplicate"] is True and resent["text"] == "[ONE_TIME_CODE]"

    store.record_replies(conv, answer["turn_id"], [{"text": "Done."}])
    later = store.append_customer_turn(session["session_id"], "widget", "thanks 482913", "m3")
    assert later["text"] == "thanks 482913" and later["secret_input"] is None  # only the answer right after

    with store.db.session() as s:
        texts = [(t.text, t.rasa_text) for t in s.scalars(select(Turn).where(Turn.conversation_id == conv))]
    assert not any("482913" in (text + (rasa or "")) for text, rasa in texts[:-1])  # not even in rasa_text
    assert store.history(conv)[2]["text"] == "[ONE_TIME_CODE]"
