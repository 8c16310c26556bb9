"""Rasa's SQL tracker store, reading and writing its `events` rows without the ORM's per-row work.

Rasa reads a conversation's tracker from the tracker store before every message and writes the new events
after it. Its `SQLTrackerStore` does both through the ORM: every stored event becomes a `SQLEvent` object in
the session's identity map before its `data` is read, the count of stored events is a count over that query
wrapped in a subquery, and each new event is flushed as an object. On SQLite its engine has no connection pool
(SQLAlchemy 1.4's `NullPool` for a file), so each read and each write opens the database file and closes it
again, which on a WAL database also checkpoints when it was the process's last connection. Together that was
~20 ms of Rasa's ~55 ms CPU per message on the 2-core development machine, in a 30-message conversation
(py-spy on the running server; docs/benchmarks.md "Knowledge-base answers").

`LeanSQLTrackerStore` keeps Rasa's table, its queries and its semantics, and changes only how they run:
- `_retrieve` selects the `data` column alone (the same filter: this sender's events since the latest
  `session_started`, or all of them; ordered by id; SQL text written once) and builds the tracker as Rasa
  does (`from_dict`).
- `save` counts the stored events of the current session with the same filter (`count(*)`), inserts the
  tracker's events after them in one `executemany` with the columns Rasa fills, and commits.
- On SQLite the engine keeps its connections (a `QueuePool`): the file stays open between messages. WAL, the
  busy timeout and the durability of a commit are the database's settings, as before.
Every event Rasa's store would write is written, in the same rows; a tracker this store saved reads back the
same through Rasa's own store and the other way round (tests/rasa_plugins/test_sql_tracker_store.py). The
event broker still gets every tracker (`stream_events`), before the rows are written, as in Rasa.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Callable, Dict, Optional, Text, Tuple

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY


class LeanSQLTrackerStore(SQLTrackerStore):
    """Rasa's `SQLTrackerStore` (same constructor keys, table and results) with SQL text written once and, on
    SQLite, a pooled connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite" and isinstance(self.engine.pool, sa.pool.NullPool):
            url = self.engine.url
            self.engine.dispose()
            # Rasa's handlers run its SQL on the event loop's thread; the overflow covers other threads, and a
            # pooled connection may be handed to another thread than the one that opened it (one at a time)
            self.engine = sa.create_engine(url, poolclass=sa.pool.QueuePool, pool_size=1, max_overflow=4,
                                           connect_args={"check_same_thread": False})
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        self._events = self.SQLEvent.__table__
        self._insert = self._events.insert()
        self._select, self._count = _statements(self._events.name, self.engine.dialect.identifier_preparer.quote)

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool
                        ) -> Optional[DialogueStateTracker]:
        query = self._select["all" if fetch_events_from_all_sessions else "session"]
        with self.session_scope() as session:
            rows = session.connection().execute(query, {"sender_id": sender_id, "started": SessionStarted.type_name})
            events = [json.loads(data) for (data,) in rows]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the tracker's events that are not stored yet (those after the current session's stored ones)."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            conn = session.connection()
            stored = conn.execute(self._count, {"sender_id": tracker.sender_id,
                                                "started": SessionStarted.type_name}).scalar() or 0
            rows = [self._row(tracker.sender_id, event)
                    for event in itertools.islice(tracker.events, stored, len(tracker.events))]
            if rows:
                conn.execute(self._insert, rows)
            session.commit()

    @staticmethod
    def _row(sender_id: Text, event: Any) -> Dict[Text, Any]:
        """The columns Rasa's `save` fills for one event."""
        data = event.as_dict()
        parse_data = data.get("parse_data") or {}
        intent = (parse_data.get("intent") or {}).get(INTENT_NAME_KEY) if isinstance(parse_data, dict) else None
        return {"sender_id": sender_id, "type_name": event.type_name, "timestamp": data.get("timestamp"),
                "intent_name": intent, "action_name": data.get("name"), "data": json.dumps(data)}


def _statements(table: str, quote: Callable[[str], str]) -> Tuple[Dict[str, Any], Any]:
    """Rasa's `_event_query` as SQL text, written once: the sender's events in id order, all of them or those
    since its latest `session_started` (all when it has none), and the count of the latter. Text statements
    skip SQLAlchemy's per-call expression building and cache-key walk (~1 ms a message)."""
    t, sender, ts, kind, data, ident = (quote(n) for n in (table, "sender_id", "timestamp", "type_name", "data", "id"))
    start = f"(SELECT max({ts}) FROM {t} WHERE {sender} = :sender_id AND {kind} = :started)"
    session = f"{sender} = :sender_id AND ({ts} >= {start} OR {start} IS NULL)"
    select = {"all": sa.text(f"SELECT {data} FROM {t} WHERE {sender} = :sender_id ORDER BY {ident}"),
              "session": sa.text(f"SELECT {data} FROM {t} WHERE {session} ORDER BY {ident}")}
    return select, sa.text(f"SELECT count(*) FROM {t} WHERE {session}")
