"""Real stores for the privacy tests: the platform's database (SQLite file or PostgreSQL), Rasa's SQL
tracker store written by Rasa itself, the demo bank table, and the log-import archive."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.conversations import ConversationStore
from bot.sessions import Sessions
from core.settings import Settings
from core.store.db import Database
from core.store.models import Conversation, Turn
from privacy.subject import PrivacyStores
from tests.support import ROOT

WRITER = Path(__file__).resolve().parent / "rasa_tracker_writer.py"
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"


@dataclass
class Customer:
    token: str
    session_id: str
    conversation_id: str
    texts: list[str]


class World:
    """One deployment's stores and helpers to plant customers in them."""

    def __init__(self, db_url: str, tmp_path: Path):
        tracker_url = f"sqlite:///{tmp_path / 'rasa_tracker.db'}" if db_url.startswith("sqlite") else db_url
        self.settings = Settings(database_url=db_url, var_dir=tmp_path / "var", rasa_tracker_url=tracker_url)
        self.db = Database(db_url)
        self.db.migrate()
        self.store = ConversationStore(self.db)
        self.sessions = Sessions(self.store)
        self.stores = PrivacyStores.from_settings(self.settings, self.db)
        self.tmp_path = tmp_path

    def customer(self, turns: list[tuple[str, str]], contact: str | None = None, status: str = "bot",
                 age_days: float = 0, feedback: int | None = None) -> Customer:
        token, session = self.sessions.create_widget_session("https://shop.example")
        sid = session["session_id"]
        conv_id = None
        for speaker, body in turns:
            if speaker == "customer":
                turn = self.store.append_customer_turn(sid, "widget", body, None)
                conv_id = turn["conversation_id"]
            else:
                bot = self.store.append_turn(conv_id, speaker, body)
                if feedback is not None:
                    self.store.set_feedback(sid, bot["turn_id"], feedback)
        when = dt.datetime.now(dt.UTC) - dt.timedelta(days=age_days)
        with self.db.session() as s:
            conv = s.get(Conversation, conv_id)
            conv.contact, conv.status = contact, status
            conv.started_at = conv.last_activity_at = when
            if status == "closed":
                conv.ended_at = when
        return Customer(token, sid, conv_id, [b for _, b in turns])

    def rasa_tracker(self, customers: list[Customer], slots: dict[str, dict] | None = None) -> None:
        """Write the customers' conversations through Rasa's own SQLTrackerStore (in .venv-rasa)."""
        convs = [{"sender_id": c.conversation_id, "slots": (slots or {}).get(c.conversation_id, {}),
                  "turns": [{"speaker": "customer" if i % 2 == 0 else "bot", "text": t} for i, t in enumerate(c.texts)]}
                 for c in customers]
        path = self.tmp_path / f"tracker-{len(list(self.tmp_path.glob('tracker-*')))}.json"
        path.write_text(json.dumps(convs))
        done = subprocess.run([str(RASA_PYTHON), str(WRITER), self.settings.tracker_db_url, str(path)],
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-3000:]

    def tracker_rows(self, sender_id: str) -> list[dict]:
        return [e["data"] for e in self.stores.events.events([sender_id])]

    def fts(self, word: str) -> set[int]:
        """Turn ids the full-text index finds `word` in: SQLite's FTS5 index itself (rowids, not joined
        to `turns`, so a stale index entry shows), PostgreSQL's to_tsvector GIN index."""
        with self.db.engine.connect() as c:
            if self.db.engine.dialect.name == "sqlite":
                rows = c.execute(text("SELECT rowid FROM turns_fts WHERE turns_fts MATCH :w"), {"w": f'"{word}"'})
            else:
                rows = c.execute(text("SELECT id FROM turns WHERE to_tsvector('simple', text) "
                                      "@@ plainto_tsquery('simple', :w)"), {"w": word})
            return {r[0] for r in rows}

    def turn_ids(self, conversation_id: str) -> set[int]:
        with self.db.session() as s:
            return set(s.scalars(select(Turn.id).where(Turn.conversation_id == conversation_id)))

    def turns(self, conversation_id: str) -> list[str]:
        with self.db.session() as s:
            return list(s.scalars(select(Turn.text).where(Turn.conversation_id == conversation_id).order_by(Turn.seq)))

    def close(self) -> None:
        self.stores.close()


@pytest.fixture
def world(db_url, tmp_path):
    w = World(db_url, tmp_path)
    yield w
    w.close()


@pytest.fixture
def sqlite_world(sqlite_url, tmp_path):
    w = World(sqlite_url, tmp_path)
    yield w
    w.close()
