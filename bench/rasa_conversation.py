"""A support conversation as Rasa's own events, for benchmarks that run in Rasa's runtime (.venv-rasa).

`turn_events(session, t, rng)` is one exchange as our stack records it: the customer's message with the parse
data our NLU produces (intent ranking, an entity, the packed sentence embedding), the KB action, the bot's
answer with its sources note, a slot and `action_listen`. `session_start()` is what Rasa writes when a session
begins. Imported only inside Rasa's runtime (bench/action_request.py, bench/tracker_store.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

from rasa_plugins import embedding_wire

SLOTS_YAML = "slots:\n  card_last4:\n    type: text\n    mappings: [{type: custom}]\n"


def session_start() -> list[Any]:
    return [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]


def turn_events(session: int, t: int, rng: Any) -> list[Any]:
    vector = rng.standard_normal(384).astype("float32")
    vector /= np.linalg.norm(vector)
    ranking = [{"name": f"intent_{i}", "confidence": round(1 / (i + 2), 4)} for i in range(10)]
    parse = {"intent": ranking[0], "intent_ranking": ranking, "text": f"question {session}.{t}",
             "entities": [{"entity": "amount", "value": str(t), "start": 0, "end": 1}],
             embedding_wire.KEY: embedding_wire.pack(vector, "all-MiniLM-L6-v2@bench")}
    note = {"custom": {"supportbot": {"sources": [{"url": f"kb/{t}.md", "passages": [{"paragraph": 0}]}]}}}
    return [UserUttered(f"question {session}.{t}", parse["intent"], parse["entities"], parse),
            ActionExecuted("action_answer_question"), BotUttered(f"answer {session}.{t}", note),
            SlotSet("card_last4", str(1000 + t)), ActionExecuted("action_listen")]
