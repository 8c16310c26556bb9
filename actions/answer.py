"""`action_answer_question`: answer a banking question from the knowledge base.

Banking intents and `nlu_fallback` come here (data/rules.yml). The action searches the FAISS
index through `retrieval.service.Retriever`, lets the fine-tuned response selector propose
replies for typed messages, and follows `actions.knowledge.decide`: the KB passage with its
source link, else a confident dialogue-model reply, else "I'm not sure" with an offer of a person.
Every reply is followed by the `supportbot` custom payload (sources, candidates, model versions).
A missing index or a failing dependency gets a polite reply, never an error.
"""

from __future__ import annotations

import asyncio
import logging

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import Events, PoliteAction, annotate
from actions.formatting import answer_text, payload
from actions.knowledge import Decision, Thresholds, Understanding, decide, find_hits
from actions.services import ActionServices
from finetune.templates import choose_reply

log = logging.getLogger(__name__)

CONTEXT_TURNS = 10


def conversation_context(events: list[dict], limit: int = CONTEXT_TURNS) -> list[dict]:
    """The last `limit` customer/bot turns as `{speaker, text}` (the response selector's input)."""
    turns = []
    for event in events:
        text = event.get("text")
        if not text:
            continue
        if event.get("event") == "user":
            turns.append({"speaker": "customer", "text": text})
        elif event.get("event") == "bot":
            turns.append({"speaker": "agent", "text": text})
    return turns[-limit:]


def _kb_unavailable(dispatcher: CollectingDispatcher, error: str) -> None:
    """Polite "can't search right now" (the details go to the log, not to the customer)."""
    dispatcher.utter_message(response="utter_kb_unavailable")
    annotate(dispatcher, error=error)


class ActionAnswerQuestion(PoliteAction):
    def __init__(self, services: ActionServices):
        self.services = services

    def name(self) -> str:
        return "action_answer_question"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> Events:
        understanding = Understanding.from_message(tracker.latest_message)
        thresholds = Thresholds.from_settings(self.services.settings)
        retriever = await self.services.get_retriever()
        if retriever is None:
            log.warning("KB unavailable in conversation %s: %s", tracker.sender_id, self.services.kb_error)
            _kb_unavailable(dispatcher, "kb_unavailable")
            return []
        context = conversation_context(tracker.events)
        previous = next((t["text"] for t in reversed(context[:-1]) if t["speaker"] == "customer"), None)
        try:
            hits, best, guided = await asyncio.to_thread(
                find_hits, retriever, understanding, self.services.catalog, thresholds, previous
            )
        except Exception as exc:  # noqa: BLE001 - any search failure is a polite "can't search now"
            log.error("KB search failed in conversation %s: %s", tracker.sender_id, exc)
            _kb_unavailable(dispatcher, "kb_search_failed")
            return []

        selection = None if understanding.is_payload else await self.services.select_response(context)

        decision = decide(understanding, hits, best, guided, selection, thresholds)
        self._reply(dispatcher, decision, understanding, thresholds, tracker.current_slot_values())
        return []

    def _reply(
        self, dispatcher: CollectingDispatcher, decision: Decision, understanding: Understanding, thresholds: Thresholds,
        slots: dict,
    ) -> None:
        if decision.kind == "kb":
            article = self.services.catalog.article_for(decision.hit)
            dispatcher.utter_message(text=answer_text(decision.hit, article.body if article else None))
        elif decision.kind == "responses":
            # learnt replies keep typed placeholders ("Thank you, [NAME]."): filled from the slots
            text, _template = choose_reply(decision.selection, slots)
            dispatcher.utter_message(text=text)
        else:
            dispatcher.utter_message(response="utter_low_confidence")
        dispatcher.utter_message(
            json_message=payload(
                decision, understanding, thresholds.kb_min_score, self.services.model_versions()
            )
        )
