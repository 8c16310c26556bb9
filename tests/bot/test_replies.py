"""Rasa's REST output -> our replies, and the tracker -> NLU details (pure functions, real Rasa shapes)."""

from __future__ import annotations

from bot.replies import nlu_details, parse_replies, safe_url

HOURS = "Our branches are open 9:00-17:00 on weekdays."


def test_custom_payload_annotates_the_text_before_it_and_can_ask_for_a_human():
    replies, handoff = parse_replies([
        {"recipient_id": "c", "text": HOURS},
        {"recipient_id": "c", "custom": {"supportbot": {
            "sources": [{"title": "Hours", "url": "https://b.example/hours", "doc_id": "hours", "score": 0.9},
                        {"title": "Bad link", "url": "javascript:alert(1)", "doc_id": "x", "score": "high"}],
            "candidates": [{"text": "We open at 9", "score": 0.7}], "model_versions": {"responses": "v3"}}}},
        {"recipient_id": "c", "text": "Anything else?", "buttons": [{"title": "No", "payload": "/deny"},
                                                                    {"title": 3}]},
        {"recipient_id": "c", "custom": {"supportbot": {"handoff": True}}},
        {"recipient_id": "c", "custom": {"other_channel": {"x": 1}}},
    ])
    assert handoff is True
    assert replies == [
        {"text": HOURS,
         "sources": [{"title": "Hours", "url": "https://b.example/hours", "doc_id": "hours", "score": 0.9},
                     {"title": "Bad link", "url": None, "doc_id": "x", "score": None}],
         "candidates": [{"text": "We open at 9", "score": 0.7}], "model_versions": {"responses": "v3"}},
        {"text": "Anything else?", "buttons": [{"title": "No", "payload": "/deny"}]},
    ]


def test_nothing_from_rasa_is_no_reply():
    assert parse_replies([]) == ([], False)
    assert parse_replies([{"custom": {"supportbot": {"sources": []}}}, "junk"]) == ([], False)


def test_only_absolute_http_links_are_safe():
    assert safe_url("https://bank.example/a?b=1") == "https://bank.example/a?b=1"
    for bad in ("javascript:alert(1)", "data:text/html,<script>", "//evil.example", "/relative", None, 42):
        assert safe_url(bad) is None


def _events() -> list[dict]:
    meta = {"model_id": "m1", "assistant_id": "a"}
    return [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "hi", "metadata": {"turn_id": 1, **meta},
         "parse_data": {"intent": {"name": "greet", "confidence": 0.93}, "entities": []}},
        {"event": "action", "name": "utter_greet"},
        {"event": "bot", "text": "Hello!", "metadata": {"utter_action": "utter_greet", **meta}},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "card 4821 lost", "metadata": {"turn_id": 3, **meta},
         "parse_data": {"intent": {"name": "lost_or_stolen_card", "confidence": 0.61},
                        "entities": [{"entity": "card_last4", "value": "4821", "start": 5, "end": 9,
                                      "extractor": "RegexEntityExtractor", "processors": []}]}},
        {"event": "action", "name": "action_answer_question"},
        {"event": "bot", "text": "I have blocked it.", "metadata": meta},
        {"event": "bot", "text": "Anything else?", "metadata": meta},
        {"event": "action", "name": "action_listen"},
    ]


def test_nlu_details_come_from_the_user_event_of_that_turn():
    details = nlu_details(_events(), 3, [{"text": "I have blocked it."}, {"text": "Anything else?"}])
    assert details == {
        "intent": "lost_or_stolen_card", "confidence": 0.61,
        "entities": [{"entity": "card_last4", "value": "4821", "start": 5, "end": 9,
                      "extractor": "RegexEntityExtractor"}],
        "actions": ["action_answer_question", "action_answer_question"], "rasa_model_id": "m1"}
    first = nlu_details(_events(), 1, [{"text": "Hello!"}])
    assert (first["intent"], first["actions"]) == ("greet", ["utter_greet"])


def test_a_turn_rasa_never_saw_has_no_details():
    assert nlu_details(_events(), 99, [{"text": "x"}]) == {
        "intent": None, "confidence": None, "entities": None, "actions": [None], "rasa_model_id": None}
