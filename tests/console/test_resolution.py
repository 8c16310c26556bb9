"""The resolution metric: classes on hand-made conversations of each kind (the 24-hour return rule
included), the rates per day / intent / KB article / learnt reply on a real SQLite store, the
dashboard's definition, drill-down links and anonymised CSV, and the "That solved it" quick reply
clicked over the real widget socket."""

from __future__ import annotations

import csv
import datetime as dt
import io
from urllib.parse import parse_qs, urlsplit

from bs4 import BeautifulSoup

from bot.console.analytics import DateRange
from bot.console.resolution import ASSUMED, CONFIRMED, NOT_RESOLVED, Conv, TurnFacts, classify
from bot.console.resolution_report import report
from bot.solved import SOLVED_PAYLOAD, offer_solved
from tests.console import seed

T0 = dt.datetime(2026, 5, 4, 10, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def ask(intent: str, minute: float = 0) -> TurnFacts:
    return TurnFacts("customer", at(minute), intent=intent)


def kb(article: str, minute: float = 1, feedback: int | None = None) -> TurnFacts:
    return TurnFacts("bot", at(minute), answer_source="kb", article=article, feedback=feedback)


def conv(*turns: TurnFacts, cid: str = "c1", customer: str = "s1", **kw) -> Conv:
    return Conv(cid, customer, turns[0].at, tuple(turns), **kw)


def test_confirmed_by_thumbs_up_csat_or_the_solved_reply():
    assert classify(conv(ask("card_arrival"), kb("card_arrival.md", feedback=1))).reason == "thumbs_up"
    assert classify(conv(ask("card_arrival"), kb("card_arrival.md"), csat=4)).resolution == CONFIRMED
    solved = conv(ask("card_arrival"), kb("card_arrival.md"), TurnFacts("customer", at(2), solved=True),
                  TurnFacts("bot", at(2), answer_source="rule"))
    assert (classify(solved).resolution, classify(solved).reason) == (CONFIRMED, "solved_reply")
    # the latest signal counts: 👎 then 👍 confirms, 👍 then 👎 does not; CSAT 3 is no signal
    assert classify(conv(ask("a_b"), kb("x", 1, -1), ask("a_b", 2), kb("y", 3, 1))).resolution == CONFIRMED
    assert classify(conv(ask("a_b"), kb("x", 1, 1), ask("a_b", 2), kb("y", 3, -1))).resolution == NOT_RESOLVED
    assert classify(conv(ask("a_b"), kb("x"), csat=3)).resolution == ASSUMED


def test_not_resolved_by_handoff_fallback_thumbs_down_or_abandonment_after_a_fallback():
    handed = conv(ask("card_arrival"), kb("card_arrival.md", feedback=1), handed_off=True)
    assert (classify(handed).resolution, classify(handed).reason) == (NOT_RESOLVED, "handoff")  # a person helped
    agent = conv(ask("card_arrival"), TurnFacts("agent", at(3), answer_source="agent"), csat=5)
    assert classify(agent).reason == "handoff"
    assert classify(conv(ask("card_arrival"), kb("card_arrival.md", feedback=-1))).reason == "thumbs_down"
    fallback_only = conv(ask("nlu_fallback"), TurnFacts("bot", at(1), answer_source="fallback"))
    assert (classify(fallback_only).resolution, classify(fallback_only).reason) == (NOT_RESOLVED, "fallback")
    abandoned = conv(ask("card_arrival"), kb("card_arrival.md"), ask("nlu_fallback", 2),
                     TurnFacts("bot", at(3), answer_source="fallback"))
    assert classify(abandoned).reason == "fallback"
    rescued = conv(ask("nlu_fallback"), TurnFacts("bot", at(1), answer_source="fallback"), ask("card_arrival", 2),
                   kb("card_arrival.md", 3))
    assert classify(rescued).resolution == ASSUMED  # a fallback, then an answer: the last answer decides
    unanswered = conv(ask("card_arrival"), TurnFacts("system", at(1), answer_source="fallback"))
    assert classify(unanswered).resolution == NOT_RESOLVED
    assert classify(conv(ask("card_arrival"))).reason == "no_answer"
    assert classify(conv(TurnFacts("bot", at(0), answer_source="rule"))) is None  # no customer: no resolution


def test_the_24_hour_return_rule_same_intent_or_same_article():
    first = conv(ask("card_arrival"), kb("card_arrival.md"))
    minutes = 60 * 23

    def later(*turns, customer="s1", cid="c2"):
        return conv(*turns, cid=cid, customer=customer)

    back = later(ask("card_arrival", minutes), kb("card_arrival.md", minutes + 1))
    verdict = classify(first, [first, back])
    assert (verdict.resolution, verdict.reason, verdict.returned_in) == (NOT_RESOLVED, "returned", ["c2"])
    too_late = later(ask("card_arrival", 60 * 25))
    assert classify(first, [too_late]).resolution == ASSUMED
    other_topic = later(ask("change_pin", minutes), kb("change_pin.md", minutes + 1))
    assert classify(first, [other_topic]).resolution == ASSUMED
    same_article = later(ask("card_delivery_estimate", minutes), kb("card_arrival.md", minutes + 1))
    assert classify(first, [same_article]).resolution == NOT_RESOLVED  # the same article answered again
    someone_else = later(ask("card_arrival", minutes), customer="s2")
    assert classify(first, [someone_else]).resolution == ASSUMED
    small_talk = conv(ask("greet"), TurnFacts("bot", at(1), answer_source="rule"))
    assert classify(small_talk, [later(ask("greet", 30), TurnFacts("bot", at(31), answer_source="rule"))]
                    ).resolution == ASSUMED  # greeting twice is not "the same topic"


KB_REPLY = {"text": "Cards arrive in 3-5 working days.", "answer_kind": "kb",
            "sources": [{"title": "Card arrival", "url": "https://bank.example/card-arrival",
                         "doc_id": "card_arrival.md", "score": 0.8}]}
LEARNT_REPLY = {"text": "Thanks, Ann.", "answer_kind": "responses", "template": "Thanks, [NAME]."}


def _exchange(store, session, conv_id, text, intent, reply, action="action_answer_question"):
    turn = store.append_customer_turn(session["session_id"], "widget", text, None)
    return store.record_replies(turn["conversation_id"], turn["turn_id"], [dict(reply)],
                                {"intent": intent, "confidence": 0.9, "actions": [action]})


def build(services):
    """Four customers: confirmed (thumbs up), assumed (learnt reply), not resolved (fallback), and one who
    comes back 2 hours later on the same article (not resolved; the return itself is assumed)."""
    store = services.store
    ids = {}
    for name, text, intent, reply, fb in (("confirmed", "where is my card", "card_arrival", KB_REPLY, 1),
                                          ("assumed", "my name is Ann", "inform_name", LEARNT_REPLY, None),
                                          ("fallback", "bitcoin rent?", "nlu_fallback",
                                           {"text": "Not sure.", "answer_kind": "low_confidence"}, None),
                                          ("returned", "card not here", "card_arrival", KB_REPLY, None)):
        c = seed.conversation(store, [{"text": "hi", "intent": "greet", "confidence": 0.99, "reply": "Hello!"}])
        [bot] = _exchange(store, c["session"], c["id"], text, intent, reply)
        if fb:
            store.set_feedback(c["session"]["session_id"], bot["turn_id"], fb)
        seed.backdate(store.db, c["id"], T0)
        ids[name] = c
    back = ids["returned"]
    store.close(back["session"]["session_id"], back["id"])
    [again] = _exchange(store, back["session"], None, "still no card", "card_delivery_estimate", KB_REPLY)
    seed.backdate(store.db, again["conversation_id"], T0 + dt.timedelta(hours=2))
    ids["return"] = {"id": again["conversation_id"]}
    return ids


def test_rates_per_day_intent_article_and_template(db_services):
    services = db_services  # SQLite and PostgreSQL
    ids = build(services)
    data = report(services.db, DateRange(T0.date(), T0.date()), 24.0)
    assert data["verdicts"] == {ids["confirmed"]["id"]: CONFIRMED, ids["assumed"]["id"]: ASSUMED,
                                ids["fallback"]["id"]: NOT_RESOLVED, ids["returned"]["id"]: NOT_RESOLVED,
                                ids["return"]["id"]: ASSUMED}
    s = data["summary"]
    assert (s["conversations"], s["confirmed"], s["assumed"], s["not_resolved"]) == (5, 1, 2, 2)
    assert s["confirmed_rate"] == 0.2 and s["not_resolved_rate"] == 0.4
    [day] = data["day"]
    assert day["key"] == "2026-05-04" and day["conversations"] == 5
    intents = {r["key"]: r for r in data["intent"]}
    assert (intents["card_arrival"]["confirmed"], intents["card_arrival"]["not_resolved"]) == (1, 1)
    assert "greet" not in intents and "nlu_fallback" not in intents  # small talk is not a topic
    [article] = data["article"]
    assert (article["key"], article["conversations"], article["assumed"]) == ("card_arrival.md", 3, 1)
    [template] = data["template"]
    assert (template["key"], template["assumed"], template["ids"]["assumed"]) == (
        "Thanks, [NAME].", 1, [ids["assumed"]["id"]])


def test_dashboard_definition_drill_down_and_anonymised_csv(services, client_for):
    ids = build(services)
    ann = client_for("agent")
    params = {"date_from": "2026-05-04", "date_to": "2026-05-04"}
    page = ann.get("/console/resolution", params=params)
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    assert "within 24 hours" in soup.select_one("#definition").text
    link = soup.select_one("#resolution-article td.res-not_resolved a")["href"]
    listed = ann.get(link)
    assert ids["returned"]["id"] in listed.text and ids["confirmed"]["id"] not in listed.text
    assert parse_qs(urlsplit(link).query)["ids"] == [ids["returned"]["id"]]
    api = ann.get("/api/console/resolution", params=params).json()
    assert api["summary"]["not_resolved"] == 2 and "Confirmed" in api["definition"]

    c = seed.conversation(services.store, [{"text": "I am Ann", "intent": "inform_name", "confidence": 0.9,
                                            "reply": "Hi"}])
    _exchange(services.store, c["session"], c["id"], "call me", "call_me_back",
              {**LEARNT_REPLY, "template": "I will call you on +44 20 7946 0958."})
    seed.backdate(services.store.db, c["id"], T0)
    body = ann.get("/console/resolution.csv", params=params)
    assert body.status_code == 200 and body.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body.text)))
    assert rows[0][:3] == ["group", "key", "conversations"] and rows[1][:3] == ["all", "all", "6"]
    assert "7946" not in body.text and any(r[0] == "template" and "[PHONE" in r[1] for r in rows)


def test_the_solved_quick_reply_over_the_widget_socket(services, app):
    from fastapi.testclient import TestClient

    replies = offer_solved([dict(KB_REPLY)], services.settings.solved_button_title)
    assert replies[0]["buttons"][-1] == {"title": "That solved it", "payload": SOLVED_PAYLOAD}
    assert offer_solved([dict(LEARNT_REPLY)], "That solved it")[0].get("buttons") is None  # KB answers only
    c = seed.conversation(services.store, [{"text": "hi", "intent": "greet", "confidence": 0.99, "reply": "Hello!"}])
    _exchange(services.store, c["session"], c["id"], "where is my card", "card_arrival", replies[0])
    with TestClient(app) as client, client.websocket_connect("/ws", headers={"origin": "http://testserver"}) as ws:
        ws.send_json({"type": "hello", "token": c["token"]})
        while (event := ws.receive_json())["type"] != "history":
            pass
        assert event["turns"][-1]["buttons"][-1]["payload"] == SOLVED_PAYLOAD
        ws.send_json({"type": "button", "payload": SOLVED_PAYLOAD, "client_msg_id": "solved-1"})
        while not ((event := ws.receive_json())["type"] == "message" and event.get("speaker") == "bot"):
            pass
    assert event["text"].startswith("Great, glad that helped")
    history = services.store.history(c["id"])
    assert [(t["speaker"], t["text"], t["rasa_text"]) for t in history[-2:]] == [
        ("customer", "That solved it", SOLVED_PAYLOAD), ("bot", event["text"], None)]
    verdict = report(services.db, DateRange.last_days(1), 24.0)["verdicts"][c["id"]]
    assert verdict == CONFIRMED
