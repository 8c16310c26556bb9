"""Rasa's SQL tracker store (`events`: one row per event, `sender_id` = our conversation id, `data`
the event as JSON) as the privacy jobs read, rewrite and delete it.

The store is Rasa's; this module touches only rows of the conversations it is asked about. A
tracker database that does not exist (a SQLite file never created, no `events` table yet) holds
no events: every operation is then a no-op, and nothing is created.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, inspect, text

CHUNK = 500  # sender ids per statement (PostgreSQL and SQLite both take this many bound values)


class RasaEvents:
    def __init__(self, url: str):
        self.url = url
        self._engine: Engine | None = None

    def _db(self) -> Engine | None:
        if self._engine is None:
            if self.url.startswith("sqlite"):
                path = self.url.split(":///", 1)[-1]
                if not path or not Path(path).is_file():
                    return None
            from core.store.db import make_engine

            self._engine = make_engine(self.url)
        if not inspect(self._engine).has_table("events"):
            return None
        return self._engine

    def events(self, sender_ids: Iterable[str]) -> list[dict]:
        """The events of these conversations, oldest first, as `{"sender_id", "data"}`."""
        db, out = self._db(), []
        if db is None:
            return out
        q = text("SELECT sender_id, data FROM events WHERE sender_id IN :ids ORDER BY id").bindparams(
            bindparam("ids", expanding=True))
        with db.connect() as conn:
            for ids in _chunks(sender_ids):
                out += [{"sender_id": s, "data": json.loads(d)} for s, d in conn.execute(q, {"ids": ids})]
        return out

    def count(self, sender_ids: Iterable[str]) -> int:
        return len(self.events(sender_ids))

    def delete(self, sender_ids: Iterable[str]) -> int:
        db, n = self._db(), 0
        if db is None:
            return 0
        q = text("DELETE FROM events WHERE sender_id IN :ids").bindparams(bindparam("ids", expanding=True))
        with db.begin() as conn:
            for ids in _chunks(sender_ids):
                n += conn.execute(q, {"ids": ids}).rowcount
        return n

    def rewrite(self, sender_id: str, change: Callable[[dict], dict | None]) -> int:
        """Apply `change` to each event of one conversation; a returned dict replaces the event's data."""
        db, n = self._db(), 0
        if db is None:
            return 0
        with db.begin() as conn:
            rows = conn.execute(text("SELECT id, data FROM events WHERE sender_id = :s ORDER BY id"),
                                {"s": sender_id}).all()
            for row_id, data in rows:
                new = change(json.loads(data))
                if new is not None:
                    conn.execute(text("UPDATE events SET data = :d WHERE id = :id"),
                                 {"d": json.dumps(new, ensure_ascii=False), "id": row_id})
                    n += 1
        return n

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    ids = list(dict.fromkeys(ids))
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def event_texts(data: dict) -> list[str]:
    """The customer or bot text an event carries (what the redaction job rewrites)."""
    out: list[Any] = [data.get("text")]
    out.append((data.get("parse_data") or {}).get("text"))
    return [t for t in out if isinstance(t, str) and t]
