"""Which source answered each bot turn: the rule over real payload shapes, stored on the turn by the
store, shown in the console's transcript and counted on the analytics dashboard (real SQLite file)."""

from __future__ import annotations

from bot.answer_source import answer_source
from bot.replies import parse_replies
from tests.console import seed

KB_NOTE = {"supportbot": {"sources": [{"title": "Card arrival", "url": "https://bank.example/card-arrival",
                                       "doc_id": "card_arrival.md", "score": 0.81}],
                          "candidates": [], "model_versions": {"kb_index": "k1"}, "answer_source": "kb"}}
LEARNT_NOTE = {"supportbot": {"sources": [], "candidates": [{"text": "Thanks, [NAME].", "score": 0.9}],
                              "model_versions": {"responses": "r1"}, "answer_source": "responses",
                              "template": "Thanks, [NAME]."}}


def test_the_rule_per_kind_of_reply():
    assert answer_source({"answer_kind": "kb"}, "action_answer_question") == "kb"
    assert answer_source({"answer_kind": "kb_full_article"}, "action_show_full_article") == "kb"
    assert answer_source({"answer_kind": "responses"}, "action_answer_question") == "learnt"
    assert answer_source({"answer_kind": "low_confidence"}, "action_answer_question") == "fallback"
    assert answer_source({"answer_kind": "out_of_scope"}, "action_answer_question") == "fallback"
    assert answer_source({"error": "kb_unavailable"}, "action_answer_question") == "fallback"
    assert answer_source({}, "utter_greet") == "rule"  # no payload: a rule or a form
    assert answer_source({}, None) == "rule"
    assert answer_source({}, "action_default_fallback") == "fallback"


def test_parse_replies_keeps_the_kind_template_error_and_handoff_reason():
    replies, handoff = parse_replies([
        {"text": "Cards arrive in 3-5 days."}, {"custom": KB_NOTE},
        {"text": "Thanks, Ann."}, {"custom": LEARNT_NOTE},
        {"text": "Connecting you."}, {"custom": {"supportbot": {"sources": [], "handoff": True,
                                                                 "reason": "intent:card_swallowed"}}},
    ])
    assert handoff is True
    assert replies[0]["answer_kind"] == "kb" and "template" not in replies[0]
    assert (replies[1]["answer_kind"], replies[1]["template"]) == ("responses", "Thanks, [NAME].")
    assert replies[2]["handoff_reason"] == "intent:card_swallowed" and "answer_kind" not in replies[2]


def test_sources_are_stored_shown_and_counted(services, client_for):
    store = services.store
    replies, _ = parse_replies([{"text": "Cards arrive in 3-5 days."}, {"custom": KB_NOTE}])
    conv = seed.conversation(store, [{"text": "hello", "intent": "greet", "confidence": 0.99, "action": "utter_greet",
                                      "reply": "Hi! How can I help?"}])
    session = conv["session"]
    turn = store.append_customer_turn(session["session_id"], "widget", "where is my card", "m2")
    [kb] = store.record_replies(conv["id"], turn["turn_id"], replies,
                                {"intent": "card_arrival", "confidence": 0.9, "actions": ["action_answer_question"]})
    learnt, _ = parse_replies([{"text": "Thanks, Ann."}, {"custom": LEARNT_NOTE}])
    turn = store.append_customer_turn(session["session_id"], "widget", "I am Ann", "m3")
    [lr] = store.record_replies(conv["id"], turn["turn_id"], learnt,
                                {"intent": "inform", "confidence": 0.9, "actions": ["action_answer_question"]})
    turn = store.append_customer_turn(session["session_id"], "widget", "still there?", "m4")
    notice = store.record_unanswered(conv["id"], turn["turn_id"], "Sorry, unavailable.", "rasa_unavailable")
    history = {t["turn_id"]: t for t in store.history(conv["id"])}
    assert history[conv["bot"][0]]["answer_source"] == "rule"
    assert history[kb["turn_id"]]["answer_source"] == "kb" and history[kb["turn_id"]]["answer_template"] is None
    assert (history[lr["turn_id"]]["answer_source"], history[lr["turn_id"]]["answer_template"]) == (
        "learnt", "Thanks, [NAME].")
    assert history[notice["turn_id"]]["answer_source"] == "fallback"

    ann = client_for("agent")
    page = ann.get(f"/console/conversations/{conv['id']}")
    assert page.status_code == 200
    assert 'class="answer-source source-kb"' in page.text and "learnt reply" in page.text
    api = ann.get(f"/api/console/conversations/{conv['id']}").json()
    assert [t["answer_source"] for t in api["turns"] if t["speaker"] != "customer"] == [
        "rule", "kb", "learnt", "fallback"]
    sources = ann.get("/api/console/analytics").json()["sources"]
    assert sources == {"rule": 1, "kb": 1, "learnt": 1, "fallback": 1, "agent": 0}
