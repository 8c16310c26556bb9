"""Runs under .venv-rasa: writes conversations into a *real* Rasa SQL tracker store, SQLite or PostgreSQL.

    .venv-rasa/bin/python tests/privacy/rasa_tracker_writer.py TRACKER_URL CONVERSATIONS_JSON

TRACKER_URL: sqlite:///PATH or postgresql://USER@HOST:PORT/DB. CONVERSATIONS_JSON:
[{"sender_id", "turns": [{"speaker": "customer"|"bot", "text"}], "slots": {"name": value}}].
The privacy tests then erase or redact these rows through the platform, and read them back here.
"""

import asyncio
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker


def open_store(url: str) -> SQLTrackerStore:
    if url.startswith("sqlite:///"):
        return SQLTrackerStore(Domain.empty(), dialect="sqlite", db=url[len("sqlite:///"):])
    u = urlsplit(url)
    return SQLTrackerStore(Domain.empty(), dialect="postgresql", host=u.hostname, port=u.port or 5432,
                           db=u.path.lstrip("/"), username=u.username or "postgres", password=u.password)


async def main(url: str, conversations: list) -> None:
    store = open_store(url)
    ts = time.time() - 1000
    for conv in conversations:
        tracker = DialogueStateTracker(conv["sender_id"], slots=[])
        tracker.update(SessionStarted(timestamp=ts))
        for turn in conv["turns"]:
            ts += 1
            if turn["speaker"] == "customer":
                tracker.update(UserUttered(turn["text"], intent={"name": "greet", "confidence": 0.9},
                                           parse_data={"text": turn["text"], "intent": {"name": "greet",
                                                       "confidence": 0.9}, "entities": []}, timestamp=ts))
            else:
                tracker.update(ActionExecuted("utter_reply", timestamp=ts))
                tracker.update(BotUttered(turn["text"], timestamp=ts))
        for name, value in (conv.get("slots") or {}).items():
            tracker.update(SlotSet(name, value, timestamp=ts))
        await store.save(tracker)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], json.loads(Path(sys.argv[2]).read_text())))
