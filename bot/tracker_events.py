"""Reading a turn's NLU details from Rasa's SQL tracker store, for answers that do not carry them.

supportbot's Rasa channel (rasa_plugins/channel.py) returns each turn's tracker events with the answer. This
reader serves a Rasa that keeps another tracker store, and `nlu_details_source=tracker_store` (Rasa's REST
channel): one indexed query on Rasa's `events` table, which costs Rasa nothing (on 2 cores, asking Rasa's
HTTP API for the tracker after every message doubled the CPU Rasa spends per message; docs/benchmarks.md,
"Customer channel"). When the table cannot be read, or holds no such turn, the channel asks Rasa's API
(`GET /conversations/{id}/tracker`), as it always does with `nlu_details_source=tracker_api`.
Never a second parse.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)
RECENT_USER_EVENTS = 10  # our message is the newest user event unless the customer typed on meanwhile
EVENTS_PER_TURN = 100  # a turn's user event, its actions, slots and bot messages


class TrackerEvents:
    def __init__(self, store_url: str):
        self.store_url = store_url
        self._engine: Engine | None = None
        self._warned = False

    def _db(self) -> Engine:
        if self._engine is None:
            url = self.store_url
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://"):]
            kwargs: dict[str, Any] = {"connect_args": {"timeout": 5}} if url.startswith("sqlite") else {
                "pool_pre_ping": True, "pool_size": 2, "max_overflow": 4}
            self._engine = create_engine(url, **kwargs)  # read only: Rasa owns this database
        return self._engine

    def _from_store(self, sender_id: str, turn_id: int) -> list[dict]:
        """Our user event (found by the turn_id we sent as metadata) and everything after it."""
        with self._db().connect() as conn:
            users = conn.execute(text(
                "SELECT id, data FROM events WHERE sender_id = :sender AND type_name = 'user' "
                "ORDER BY id DESC LIMIT :n"), {"sender": sender_id, "n": RECENT_USER_EVENTS}).all()
            start = next((row_id for row_id, data in users
                          if (json.loads(data).get("metadata") or {}).get("turn_id") == turn_id), None)
            if start is None:
                return []
            rows = conn.execute(text("SELECT data FROM events WHERE sender_id = :sender AND id >= :start "
                                     "ORDER BY id LIMIT :n"),
                                {"sender": sender_id, "start": start, "n": EVENTS_PER_TURN}).scalars().all()
        return [json.loads(row) for row in rows]

    def from_store(self, sender_id: str, turn_id: int) -> list[dict]:
        """The turn's events from Rasa's tracker store, synchronously; [] when they cannot be read there.

        The channel calls this in the worker thread that then stores the replies, so reading the
        details and storing them cost one hop off the event loop, not two.
        """
        try:
            return self._from_store(sender_id, turn_id)
        except (SQLAlchemyError, ValueError) as exc:
            if not self._warned:
                log.warning("cannot read Rasa's tracker store at %s (%s); asking Rasa's API instead. Set "
                            "SUPPORTBOT_NLU_DETAILS_SOURCE=tracker_api if Rasa keeps its trackers elsewhere.",
                            self.store_url, exc)
                self._warned = True
            return []

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
