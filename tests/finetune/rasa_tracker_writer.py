"""Runs under .venv-rasa: writes conversations into a *real* Rasa SQL tracker store (SQLite file).

    .venv-rasa/bin/python tests/finetune/rasa_tracker_writer.py DB_PATH CONVERSATIONS_JSON

CONVERSATIONS_JSON: [{"sender_id", "turns": [{"speaker": "customer"|"bot", "text", "ts"}]}].
Used by tests/finetune/test_import.py so that the importer reads the schema Rasa itself writes.
"""

import asyncio
import json
import sys
from pathlib import Path

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker


async def main(db_path: str, conversations: list) -> None:
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=db_path)
    for conv in conversations:
        tracker = DialogueStateTracker(conv["sender_id"], slots=[])
        tracker.update(SessionStarted(timestamp=conv["turns"][0]["ts"] - 1))
        for turn in conv["turns"]:
            if turn["speaker"] == "customer":
                tracker.update(UserUttered(turn["text"], intent={"name": "greet", "confidence": 0.9},
                                           timestamp=turn["ts"]))
            else:
                tracker.update(ActionExecuted("utter_reply", timestamp=turn["ts"]))
                tracker.update(BotUttered(turn["text"], timestamp=turn["ts"]))
        await store.save(tracker)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], json.loads(Path(sys.argv[2]).read_text())))
