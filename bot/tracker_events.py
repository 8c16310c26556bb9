"""Where the NLU details of a turn come from when Rasa's answer does not carry them: Rasa's own record.

supportbot's Rasa channel (bot/rasa_channel.py) returns each turn's tracker events with the answer, so
these readers serve a Rasa that keeps another tracker store, or `nlu_details_source` tracker_store /
tracker_api (Rasa's REST channel). Never a second parse. Two readers of the same events:
- Rasa's SQL tracker store (`events` table), which `supportbot up` always configures. It is one
  indexed query and costs Rasa nothing. On 2 cores, asking Rasa's HTTP API for the tracker after every
  message doubled the CPU Rasa spends per message (docs/benchmarks.md, "Customer channel").
- Rasa's HTTP API (`GET /conversations/{id}/tracker`), for a Rasa whose tracker store we cannot read
  (in-memory, or another database). The SQL reader also falls back to it when the table cannot be read.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from bot.rasa_client import RasaClient

log = logging.getLogger(__name__)
RECENT_USER_EVENTS = 10  # our message is the newest user event unless the customer typed on meanwhile
EVENTS_PER_TURN = 100  # a turn's user event, its actions, slots and bot messages


class TrackerEvents:
    def __init__(self, rasa: RasaClient, store_url: str | None = None):
        self.rasa = rasa
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
        if not self.store_url:
            return []
        try:
            return self._from_store(sender_id, turn_id)
        except (SQLAlchemyError, ValueError) as exc:
            if not self._warned:
                log.warning("cannot read Rasa's tracker store at %s (%s); asking Rasa's API instead. Set "
                            "SUPPORTBOT_NLU_DETAILS_SOURCE=tracker_api if Rasa keeps its trackers elsewhere.",
                            self.store_url, exc)
                self._warned = True
            return []

    async def around(self, sender_id: str, turn_id: int) -> list[dict]:
        """Events holding the NLU details of one turn (oldest first): its user event and what followed."""
        if self.store_url:
            events = await run_in_threadpool(self.from_store, sender_id, turn_id)
            if events:
                return events
        return (await self.rasa.tracker(sender_id)).get("events") or []

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
