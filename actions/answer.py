"""`action_answer_question` and `action_show_full_article`: answers from the knowledge base.

Banking intents, `nlu_fallback` and `out_of_scope` come here (data/rules.yml). The action takes
the message's one embedding — the vector Rasa's NLU computed, carried in the parse data
(rasa_plugins/embedding_wire.py), or encoded once here when it is missing (a payload, another NLU
pipeline) — and every step uses it: the KB search, the search within the intent's article, the
ranking of the article's paragraphs. The fine-tuned response selector proposes replies for typed
messages (scored by its int8 screen first, and in float32 where that can change the reply:
actions/screen.py), and `actions.knowledge.decide` picks: the KB excerpt (one message: title, the
paragraph or two that answer, the source link, a "Show the full article" button), else a confident
dialogue-model reply, else "I'm not sure" with an offer of a person; out of scope and nothing in the
KB: a polite refusal. Every reply is followed by the `supportbot` custom payload (sources with the
paragraphs used, candidates, model versions, `embedding`: "rasa" or "encoded").
A missing index or a failing dependency gets a polite reply, never an error.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import Events, PoliteAction, annotate
from actions.excerpt import Excerpt, excerpt
from actions.formatting import (
    FULL_ARTICLE_ENTITY,
    alternative_button,
    answer_text,
    full_article_button,
    passages_used,
    payload,
    shorten,
    source_line,
    source_of,
)
from actions.knowledge import Decision, Thresholds, Understanding, decide, find_hits, query_for
from actions.screen import settles
from actions.services import ActionServices
from finetune.templates import choose_reply
from rasa_plugins import embedding_wire

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


# said before an answer from an article in another language than the conversation's
OTHER_LANGUAGE_NOTE = {"zh": "这个问题暂时只有英文的帮助文章，以下是英文内容："}


def carried_vector(parse_data: dict | None, encoder: str) -> np.ndarray | None:
    """The embedding Rasa's NLU attached to a message, if it is of `encoder` (the index's)."""
    return embedding_wire.unpack((parse_data or {}).get(embedding_wire.KEY), encoder)


def previous_user_message(events: list[dict]) -> dict | None:
    """The parse data of the customer's message before the latest one."""
    users = [e for e in events if e.get("event") == "user" and e.get("text")]
    return users[-2].get("parse_data") if len(users) >= 2 else None


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
        language = tracker.get_slot("language")  # the conversation's, from the bot service (domain.yml)
        previous = next((t["text"] for t in reversed(context[:-1]) if t["speaker"] == "customer"), None)
        fingerprint = retriever.encoder.fingerprint
        vector = None if understanding.is_payload else carried_vector(tracker.latest_message, fingerprint)
        embedding = "rasa" if vector is not None else "encoded"
        previous_vector = carried_vector(previous_user_message(tracker.events), fingerprint)
        # the response selector encodes the context while the KB is searched (both mostly outside the GIL), with
        # its int8 screen first: float32 encodes only when the screen could have decided otherwise (actions/screen.py)
        margin = self.services.settings.response_screen_margin
        selecting = None if understanding.is_payload else asyncio.ensure_future(
            self.services.select_response(context, screened=margin > 0))
        try:
            if vector is None:
                query = query_for(understanding, self.services.catalog)
                vector = (await asyncio.to_thread(retriever.encode_query, query))[0]
            hits, best, guided = await asyncio.to_thread(
                find_hits, retriever, understanding, self.services.catalog, thresholds, previous,
                vector=vector, previous_vector=previous_vector, language=language,
            )
        except Exception as exc:  # noqa: BLE001 - any search failure is a polite "can't search now"
            log.error("KB search failed in conversation %s: %s", tracker.sender_id, exc)
            if selecting is not None:
                await selecting  # never left running unawaited (it catches its own errors)
            _kb_unavailable(dispatcher, "kb_search_failed")
            return []

        selection = None if selecting is None else await selecting
        if selecting is not None and margin > 0 and (selection is None or (selection.get("screened") and not settles(
                understanding, hits, best, guided, selection, thresholds, margin))):
            selection = await self.services.select_response(context)  # float32 decides

        decision = decide(understanding, hits, best, guided, selection, thresholds)
        self._reply(dispatcher, decision, understanding, thresholds, tracker.current_slot_values(), vector, embedding,
                    language)
        return []

    def _reply(
        self, dispatcher: CollectingDispatcher, decision: Decision, understanding: Understanding, thresholds: Thresholds,
        slots: dict, vector: np.ndarray, embedding: str, language: str | None = None,
    ) -> None:
        extra: dict = {"embedding": embedding}
        if decision.kind == "kb":
            text, buttons, extra["passages"] = self._kb_answer(decision.hit, vector, language)
            offered = self._alternative(understanding, thresholds, decision.hit, language)
            if offered is not None:
                buttons = [*buttons, offered]
                extra = {**extra, "alternative": offered["payload"][1:]}
            other = decision.hit.get("lang")
            if language in OTHER_LANGUAGE_NOTE and other and other != language:  # no article in their language
                text = f"{OTHER_LANGUAGE_NOTE[language]}\n\n{text}"
            dispatcher.utter_message(text=text, buttons=buttons)
        elif decision.kind == "responses":
            # learnt replies keep typed placeholders ("Thank you, [NAME]."): filled from the slots
            text, template = choose_reply(decision.selection, slots)
            extra = {**extra, "template": template}  # the console's resolution rates per template
            dispatcher.utter_message(text=text)
        elif decision.kind == "out_of_scope":
            dispatcher.utter_message(response="utter_out_of_scope")
        else:
            dispatcher.utter_message(response="utter_low_confidence")
        dispatcher.utter_message(
            json_message=payload(
                decision, understanding, thresholds.kb_min_score, self.services.model_versions(), **extra
            )
        )

    def _alternative(self, understanding: Understanding, thresholds: Thresholds, hit: dict,
                     language: str | None) -> dict | None:
        """The "Did you mean" button when the NLU's two best intents were close: for the runner-up's article, or,
        when that article is the one answering (the search found it), for the best intent's."""
        runner_up = understanding.alternative(thresholds.kb_alternative_ratio)
        if runner_up is None:
            return None
        for intent in (runner_up, understanding.ranked[0][0]):
            article = self.services.catalog.get(intent)
            if article is not None and article.url != hit.get("url"):
                return alternative_button(intent, article.title, language)
        return None

    def _kb_answer(self, hit: dict, vector: np.ndarray,
                   language: str | None = None) -> tuple[str, list[dict], list[dict] | None]:
        """(text, buttons, paragraphs used) for a KB hit: an excerpt of our article, else of the passage; the
        source line and the button in the conversation's `language`."""
        limit = max(1, int(self.services.settings.kb_answer_words))
        article = self.services.catalog.article_for(hit)
        if article is None or not article.blocks:  # an ingested document: its passage, cut to the limit
            part = excerpt([shorten(str(hit.get("text") or ""))], None, None, limit)
            return answer_text(hit, part.text, language), [], None
        part: Excerpt = excerpt(list(article.blocks), self.services.catalog.vectors_for(article), vector, limit)
        buttons = [full_article_button(article.url, language)] if part.rest or part.cut else []
        return answer_text(hit, part.text, language), buttons, passages_used(article.blocks, part)


def _answer_sources(events: list[dict]):
    """The sources of earlier KB answers, latest first (those that list the paragraphs they used)."""
    for event in reversed(events):
        if event.get("event") != "bot":
            continue
        note = ((event.get("data") or {}).get("custom") or {}).get("supportbot") or {}
        for source in note.get("sources") or []:
            if source.get("passages"):
                yield source


def shown_paragraphs(events: list[dict], url: str) -> set[int]:
    """The paragraphs of article `url` the latest KB answer showed (from its annotation)."""
    for source in _answer_sources(events):
        if source.get("url") == url:
            return {int(p["paragraph"]) for p in source["passages"] if "paragraph" in p}
    return set()


class ActionShowFullArticle(PoliteAction):
    """The "Show the full article" button: the article's paragraphs the answer left out."""

    def __init__(self, services: ActionServices):
        self.services = services

    def name(self) -> str:
        return "action_show_full_article"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> Events:
        url = next(tracker.get_latest_entity_values(FULL_ARTICLE_ENTITY), None)
        if url is None:  # `/show_full_article` without the entity: the latest KB answer's article
            url = next((s.get("url") for s in _answer_sources(tracker.events)), None)
        article = self.services.catalog.by_url.get(str(url or ""))
        if article is None:
            dispatcher.utter_message(response="utter_low_confidence")
            annotate(dispatcher, error="unknown_article", article=url)
            return []
        shown = shown_paragraphs(tracker.events, article.url)
        rest = [b for i, b in enumerate(article.blocks) if i not in shown] or list(article.blocks)
        text = shorten("\n\n".join(rest))
        language = tracker.get_slot("language")
        dispatcher.utter_message(text=f"{text}\n\n{source_line(article.title, article.url, language)}")
        source = source_of({"title": article.title, "url": article.url, "doc_id": article.path.name, "score": 1.0})
        sent = [i for i in range(len(article.blocks)) if i not in shown] or list(range(len(article.blocks)))
        annotate(dispatcher, sources=[source], answer_source="kb_full_article", paragraphs_sent=sent)
        return []
