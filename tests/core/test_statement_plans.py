"""Every statement on a customer message's path reads only its own conversation's rows: on a real migrated
SQLite file holding other conversations, SQLite's plan for each reaches `turns` through the conversation's
index (or the row id), never by a scan or an index that spans the whole table. A plan that read every
customer turn of the database (the language count once did, through the (speaker, confidence) index) makes
each message's cost grow with the store, while it holds the write lock. And the conversation's language is
still its customers' majority."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import sqlite

from bot.conversations import ConversationStore
from bot.sessions import Sessions
from core.store import statements
from core.store.db import Database

# indexes whose first column is turns.conversation_id (SQLite names the UNIQUE constraints' own)
CONVERSATION_FIRST = ("sqlite_autoindex_turns_1", "sqlite_autoindex_turns_2", "INTEGER PRIMARY KEY")


@pytest.fixture
def store(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'supportbot.db'}")
    db.migrate()
    yield ConversationStore(db, retry_s=10.0)
    db.dispose()


def _plans(store: ConversationStore) -> dict[str, list[str]]:
    out = {}
    with store.db.engine.connect() as conn:
        for name in dir(statements):
            stmt = getattr(statements, name)
            if not name.isupper() or not hasattr(stmt, "compile") or name in ("TURNS", "CONVERSATIONS"):
                continue
            sql = str(stmt.compile(dialect=sqlite.dialect()))
            if sql.startswith("INSERT"):
                continue
            sql = re.sub(r":\w+|\?", "NULL", sql)  # the plan does not depend on the values
            out[name] = [row[-1] for row in conn.execute(text("EXPLAIN QUERY PLAN " + sql))]
    return out


def test_message_path_statements_read_one_conversation(store):
    sessions = Sessions(store)
    for n in range(30):  # other customers' conversations, in two languages
        _token, session = sessions.create_widget_session(origin=None)
        for i in range(6):
            store.append_customer_turn(session["session_id"], "widget", f"question {i}", f"m-{n}-{i}",
                                       language="en" if n % 3 else "zh")
    plans = _plans(store)
    assert "LANGUAGE_COUNTS" in plans and "NEXT_SEQ" in plans
    for name, plan in plans.items():
        for step in plan:
            assert not step.startswith("SCAN"), f"{name} scans a table: {plan}"
            if " turns " in f" {step} ":
                assert any(ix in step for ix in CONVERSATION_FIRST), f"{name} reads turns beyond its conversation: {plan}"


def test_conversation_language_is_the_customers_majority(store):
    _token, session = Sessions(store).create_widget_session(origin=None)
    sid = session["session_id"]
    first = store.append_customer_turn(sid, "widget", "hello", "a", language="en")
    assert first["conversation_language"] == "en"
    store.record_replies(first["conversation_id"], first["turn_id"], [{"text": "你好"}], {})
    assert store.append_customer_turn(sid, "widget", "我的卡", "b", language="zh")["conversation_language"] == "en"
    assert store.append_customer_turn(sid, "widget", "丢了", "c", language="zh")["conversation_language"] == "zh"
    assert store.append_customer_turn(sid, "widget", "ok", "d", language=None)["conversation_language"] is None
