"""Knowledge gaps from the real sentence encoder on a real tiny set of questions: clusters with customer
counts, the questions found through a fallback reply, non-customer traffic left out, and a draft article
outline in data/kb/'s format on the page (real SQLite file)."""

from __future__ import annotations

from bs4 import BeautifulSoup

from bot.console.analytics import DateRange
from bot.console.gaps import gap_questions, outline, slug_of, title_of
from bot.traffic import mark_session
from tests.console import seed

BITCOIN = ("can I pay my rent with bitcoin", "is paying rent in bitcoin allowed", "bitcoin rent payment possible?")
PETS = ("can I bring my dog into the branch", "are dogs allowed in your branches")


def build(services):
    store = services.store
    for text in BITCOIN:  # three customers, each fell back
        seed.conversation(store, [{"text": text, "intent": "nlu_fallback", "confidence": 0.2}])
    # the same customer twice on pets: once out of scope, once "I'm not sure" after a weak KB search
    pets = seed.conversation(store, [{"text": PETS[0], "intent": "out_of_scope", "confidence": 0.7}])
    turn = store.append_customer_turn(pets["session"]["session_id"], "widget", PETS[1], None)
    store.record_replies(pets["id"], turn["turn_id"], [{"text": "I'm not sure.", "answer_kind": "low_confidence"}],
                         {"intent": "atm_support", "confidence": 0.6, "actions": ["action_answer_question"]})
    seed.conversation(store, [{"text": "where is my card", "intent": "card_arrival", "confidence": 0.95}])
    fuzz = seed.conversation(store, [{"text": "zzqx ��� garbage", "intent": "nlu_fallback", "confidence": 0.1}])
    mark_session(services.db, fuzz["session"]["session_id"], "invalid_frames")
    return pets


def test_gap_questions_on_sqlite_and_postgresql(db_services):
    build(db_services)
    texts = {text for _i, _c, text in gap_questions(db_services.db, DateRange.last_days(1), 100)}
    assert texts == set(BITCOIN) | set(PETS)  # answered and non-customer questions are not gaps


def test_gap_clusters_from_the_real_encoder(services, client_for):
    build(services)
    ann = client_for("agent")
    gaps = ann.get("/api/console/gaps").json()["gaps"]
    first, second = gaps[0], gaps[1]
    assert (first["customers"], first["count"]) == (3, 3) and set(first["questions"]) == set(BITCOIN)
    assert (second["customers"], second["count"]) == (1, 2) and set(second["questions"]) == set(PETS)
    assert len(gaps) == 2
    assert "bitcoin" in first["title"].lower() and first["file"] == f"data/kb/{slug_of(first['title'])}.md"
    draft = first["outline"]
    assert draft.startswith("---\ntitle: ") and f"# {first['title']}" in draft
    assert all(f"- {q}" in draft for q in BITCOIN)
    page = BeautifulSoup(ann.get("/console/gaps").text, "html.parser")
    items = page.select("#gaps li.gap")
    assert len(items) == 2 and items[0].select_one(".customers").text == "3"
    assert all(q in items[0].select_one("pre.outline").text for q in BITCOIN)
    link = items[0].select_one('a[href^="/console/conversations?ids="]')["href"]
    assert len(ann.get(link.replace("/console/", "/api/console/", 1)).json()["items"]) == 3


def test_outline_title_and_file_name():
    gap = {"label": "  can I pay my rent with bitcoin? ", "count": 4, "customers": 3,
           "examples": ["can I pay my rent with bitcoin?"], "questions": ["can I pay my rent with bitcoin?", "rent in BTC"]}
    assert title_of(gap["label"]) == "Can I pay my rent with bitcoin"
    assert slug_of("Can I pay my rent with bitcoin") == "can_i_pay_my_rent_with_bitcoin"
    text = outline(gap)
    assert 'title: "Can I pay my rent with bitcoin"' in text and "Asked by 3 customers (4 times)" in text
    assert text.rstrip().endswith("- rent in BTC")
