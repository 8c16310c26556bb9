"""The conversation store, the same tests against a SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from bot.apikeys import ApiKeys
from bot.conversations import ConversationStore
from bot.errors import NotFound, StoreUnavailable, Unauthorized, UnknownSession
from bot.sessions import Sessions, token_hash
from core.store.base import utcnow
from core.store.db import Database, alembic_config
from core.store.models import Conversation, CustomerSession, Turn
from tests.support import free_port


@pytest.fixture
def db(db_url):
    database = Database(db_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def store(db) -> ConversationStore:
    return ConversationStore(db, retry_s=10.0)


def in_threads(calls: list[tuple]) -> list[Exception]:
    """Run each (function, *args) in its own thread, all at once; the exceptions they raised."""
    errors: list[Exception] = []

    def guarded(fn, *args) -> None:
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - collected for the test's assertion
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=call) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def new_session(store: ConversationStore) -> dict:
    _token, session = Sessions(store).create_widget_session(origin="https://shop.example")
    return session


class TestConversationStore:
    def test_migrations_run_from_empty_to_head_and_again(self, db_url):
        database = Database(db_url)
        database.migrate()
        database.migrate()  # idempotent
        heads = set(ScriptDirectory.from_config(alembic_config(db_url)).get_heads())
        with database.engine.connect() as conn:
            current = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
            tables = set(inspect(conn).get_table_names())
        database.dispose()
        assert current == heads
        assert {"customer_sessions", "conversations", "turns", "api_keys"} <= tables

    def test_tokens_are_long_and_only_their_hash_is_stored(self, store, db):
        token, session = Sessions(store).create_widget_session(origin=None)
        assert len(token) >= 43  # 32 random bytes, urlsafe base64: 256 bits
        with db.session() as s:
            row = s.get(CustomerSession, session["session_id"])
            assert row.token_hash == token_hash(token)
            assert token not in (row.token_hash, row.id)
        assert Sessions(store).resolve_widget_token(token)["session_id"] == session["session_id"]

    def test_a_widget_session_unused_for_too_long_expires(self, store, db):
        sessions = Sessions(store, idle_days=30)
        token, session = sessions.create_widget_session(origin=None)
        fresh_token, fresh = sessions.create_widget_session(origin=None)
        with db.session() as s:
            s.get(CustomerSession, session["session_id"]).last_seen_at = utcnow() - dt.timedelta(days=31)
            s.get(CustomerSession, fresh["session_id"]).last_seen_at = utcnow() - dt.timedelta(days=29)
        with pytest.raises(UnknownSession):
            sessions.resolve_widget_token(token)
        assert sessions.resolve_widget_token(fresh_token)["session_id"] == fresh["session_id"]  # seen: clock reset
        assert Sessions(store, idle_days=0).resolve_widget_token(token)["session_id"] == session["session_id"]

    def test_a_session_keeps_its_conversation_until_it_is_closed(self, store):
        session = new_session(store)
        first = store.current_conversation(session["session_id"])
        assert store.current_conversation(session["session_id"])["conversation_id"] == first["conversation_id"]
        waiting = store.set_status(first["conversation_id"], "waiting", outcome="handed_off")
        assert (waiting["status"], waiting["outcome"]) == ("waiting", "handed_off")
        with pytest.raises(ValueError):
            store.set_status(first["conversation_id"], "asleep")
        closed = store.close(session["session_id"], first["conversation_id"])
        assert closed["status"] == "closed" and closed["ended_at"] and closed["outcome"] == "handed_off"
        turn = store.append_customer_turn(session["session_id"], "widget", "hello again", "m-2")
        assert turn["conversation_id"] != first["conversation_id"]

    def test_a_resent_message_is_stored_once(self, store, db):
        session = new_session(store)
        a = store.append_customer_turn(session["session_id"], "widget", "my card is lost", "client-1")
        b = store.append_customer_turn(session["session_id"], "widget", "my card is lost", "client-1")
        assert (a["duplicate"], b["duplicate"]) == (False, True)
        assert a["turn_id"] == b["turn_id"]
        store.close(session["session_id"], a["conversation_id"])  # even after the conversation ended
        c = store.append_customer_turn(session["session_id"], "widget", "my card is lost", "client-1")
        assert c["duplicate"] and c["turn_id"] == a["turn_id"]
        with db.session() as s:
            assert len(s.execute(select(Turn).where(Turn.client_msg_id == "client-1")).all()) == 1

    def test_replies_unanswered_turns_and_nlu_details(self, store):
        session = new_session(store)
        q = store.append_customer_turn(session["session_id"], "widget", "opening hours?", "c1")
        conv = q["conversation_id"]
        bots = store.record_replies(conv, q["turn_id"], [
            {"text": "9 to 5", "sources": [{"title": "Hours", "url": "https://b.example/h", "doc_id": "h",
                                            "score": 0.9}], "model_versions": {"kb": "1"}},
            {"text": "Anything else?", "buttons": [{"title": "No", "payload": "/deny"}]},
        ], {"intent": "ask_hours", "confidence": 0.42, "entities": [{"entity": "day", "value": "mon"}],
            "actions": ["action_answer_question", "utter_anything_else"]})
        slow = store.append_customer_turn(session["session_id"], "widget", "and tomorrow?", "c2")
        notice = store.record_unanswered(conv, slow["turn_id"], "Sorry, taking long", "rasa_timeout")

        history = store.history(conv)
        assert [(t["speaker"], t["text"]) for t in history] == [
            ("customer", "opening hours?"), ("bot", "9 to 5"), ("bot", "Anything else?"),
            ("customer", "and tomorrow?"), ("system", "Sorry, taking long")]
        assert [t["seq"] for t in history] == [0, 1, 2, 3, 4]
        first, reply, follow, second, _ = history
        assert first["answered"] is True and second["answered"] is False
        assert (first["intent"], first["confidence"], first["entities"]) == ("ask_hours", 0.42,
                                                                             [{"entity": "day", "value": "mon"}])
        assert reply["sources"][0]["url"] == "https://b.example/h" and reply["action"] == "action_answer_question"
        assert follow["buttons"] == [{"title": "No", "payload": "/deny"}]
        assert [t["turn_id"] for t in store.replies_to(conv, q["turn_id"])] == [t["turn_id"] for t in bots]
        assert [t["turn_id"] for t in store.replies_to(conv, slow["turn_id"])] == [notice["turn_id"]]
        assert store.get_conversation(conv)["min_confidence"] == 0.42
        assert store.history(conv, limit=2)[0]["text"] == "and tomorrow?"

    def test_answers_keep_the_lowest_confidence_and_a_decided_outcome(self, store):
        session = new_session(store)
        unsure = store.append_customer_turn(session["session_id"], "widget", "blorp", "o1")
        conv = unsure["conversation_id"]

        def state() -> tuple:
            c = store.get_conversation(conv)
            return c["outcome"], c["min_confidence"]

        store.record_replies(conv, unsure["turn_id"], [{"text": "Sorry?"}], {"intent": "nlu_fallback",
                                                                             "confidence": 0.3})
        assert state() == ("fallback", 0.3)
        hello = store.append_customer_turn(session["session_id"], "widget", "hi", "o2")
        store.record_replies(conv, hello["turn_id"], [{"text": "Hello"}], {"intent": "greet", "confidence": 0.8})
        assert state() == ("answered", 0.3)  # answered once: a later fallback does not undo it
        store.set_status(conv, "bot", outcome="handed_off")
        later = store.append_customer_turn(session["session_id"], "widget", "thanks", "o3")
        store.record_replies(conv, later["turn_id"], [{"text": "Bye"}], {"intent": "thank", "confidence": 0.2})
        store.record_replies(conv, later["turn_id"], [{"text": "Bye again"}])  # no NLU details at all
        assert state() == ("handed_off", 0.2)
        with pytest.raises(NotFound):
            store.record_replies("no-such-conversation", later["turn_id"], [{"text": "?"}])
        assert [t["seq"] for t in store.history(conv)] == list(range(7))

    def test_an_unanswered_message_marks_its_conversation(self, store, db):
        session = new_session(store)
        asked = store.append_customer_turn(session["session_id"], "widget", "anyone?", "u1")
        conv = asked["conversation_id"]
        notice = store.record_unanswered(conv, asked["turn_id"], "Sorry, unavailable", "rasa_unavailable")
        assert (notice["speaker"], notice["seq"]) == ("system", 1)
        assert store.get_conversation(conv)["outcome"] == "fallback"
        with db.session() as s:
            assert s.get(Conversation, conv).meta == {"last_unanswered_reason": "rasa_unavailable"}
        store.set_status(conv, "waiting", outcome="handed_off")
        store.record_unanswered(conv, asked["turn_id"], "Still sorry", "rasa_timeout")
        assert store.get_conversation(conv)["outcome"] == "handed_off"  # a decided outcome stays
        note = store.append_turn(conv, "system", "An agent will be with you shortly.")
        assert (note["seq"], note["status"]) == (3, "waiting")
        with pytest.raises(NotFound):
            store.record_unanswered("no-such-conversation", asked["turn_id"], "?", "rasa_timeout")
        with pytest.raises(NotFound):
            store.append_turn("no-such-conversation", "system", "?")

    def test_customer_messages_and_other_writers_share_one_sequence(self, store):
        session = new_session(store)
        conv = store.current_conversation(session["session_id"])["conversation_id"]

        def customer(n: int) -> None:
            for i in range(6):
                turn = store.append_customer_turn(session["session_id"], "widget", f"c{n}-{i}", f"c{n}-{i}")
                store.record_replies(conv, turn["turn_id"], [{"text": f"r{n}-{i}"}])

        def agent(n: int) -> None:
            for i in range(6):
                store.append_turn(conv, "agent", f"a{n}-{i}")

        errors = in_threads([(fn, n) for n in range(3) for fn in (customer, agent)])
        assert not errors, errors
        history = store.history(conv)
        assert [t["seq"] for t in history] == list(range(3 * 6 * 3))
        for n in range(3):
            assert [t["text"] for t in history if t["text"][1:].startswith(f"{n}-")
                    and t["speaker"] == "customer"] == [f"c{n}-{i}" for i in range(6)]
            replies = [t for t in history if t["text"].startswith(f"r{n}-")]
            assert [t["text"] for t in replies] == [f"r{n}-{i}" for i in range(6)]

    def test_customers_only_touch_their_own_conversations(self, store):
        alice, mallory = new_session(store), new_session(store)
        q = store.append_customer_turn(alice["session_id"], "widget", "hi", "a1")
        [answer] = store.record_replies(q["conversation_id"], q["turn_id"], [{"text": "Hello"}])
        with pytest.raises(NotFound):
            store.set_feedback(mallory["session_id"], answer["turn_id"], -1)
        with pytest.raises(NotFound):
            store.set_csat(mallory["session_id"], q["conversation_id"], 1)
        with pytest.raises(NotFound):
            store.close(mallory["session_id"], q["conversation_id"])
        with pytest.raises(NotFound):
            store.set_feedback(alice["session_id"], q["turn_id"], 1)  # a customer turn is not an answer
        assert store.set_feedback(alice["session_id"], answer["turn_id"], -1)["feedback"] == -1
        conv = store.set_csat(alice["session_id"], q["conversation_id"], 4)
        assert conv["csat"] == 4 and conv["has_negative_feedback"] is True

    def test_concurrent_writers_never_lose_or_reorder_a_turn(self, store):
        session = new_session(store)
        conv = store.current_conversation(session["session_id"])["conversation_id"]

        def writer(n: int) -> None:
            for i in range(8):
                store.append_turn(conv, "agent" if n % 2 else "customer", f"w{n}-{i}")

        errors = in_threads([(writer, n) for n in range(6)])
        assert not errors, errors
        history = store.history(conv)
        assert [t["seq"] for t in history] == list(range(48))
        for n in range(6):  # each writer's turns in its own order
            mine = [t["text"] for t in history if t["text"].startswith(f"w{n}-")]
            assert mine == [f"w{n}-{i}" for i in range(8)]

    def test_api_keys_are_hashed_checked_and_revocable(self, db):
        keys = ApiKeys(db)
        key, record = keys.create("crm")
        assert key.startswith("sbk_") and len(key) > 40
        assert keys.authenticate(f"Bearer {key}")["id"] == record["id"]
        assert all(key not in str(row) for row in keys.list())
        with pytest.raises(Unauthorized):
            keys.authenticate(f"Bearer {key}x")
        with pytest.raises(Unauthorized):
            keys.authenticate(None)
        keys.revoke(record["prefix"])
        with pytest.raises(Unauthorized, match="revoked"):
            keys.authenticate(f"Bearer {key}")
        _second, record2 = keys.create("phone-bot")
        assert keys.revoke(str(record2["id"]))["revoked_at"]
        with pytest.raises(NotFound, match="apikey list"):
            keys.revoke("no-such-key")
        assert [k["revoked_at"] is not None for k in keys.list()] == [True, True]


def test_an_unreachable_database_is_reported_not_dropped():
    store = ConversationStore(Database(f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"), retry_s=0.5)
    with pytest.raises(StoreUnavailable, match="will be sent again"):
        store.create_session(token_hash("x" * 43))


def test_replicas_migrating_one_postgres_database_at_once_all_succeed(postgres_url):
    from concurrent.futures import ThreadPoolExecutor

    from core.store.db import Database

    dbs = [Database(postgres_url) for _ in range(3)]
    try:
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda db: db.migrate(), dbs))  # raises if one of them failed
    finally:
        for db in dbs:
            db.dispose()
