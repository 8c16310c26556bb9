"""The conversation list's filters and paging on a real store (SQLite FTS5 / PostgreSQL GIN)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.console.accounts import Accounts
from bot.console.errors import BadRequest
from bot.console.listing import ListFilters, list_conversations, queue
from tests.console import seed
from tests.console.conftest import PASSWORD

DAY = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def corpus(db_services):
    """Six conversations, each standing out on one filter."""
    store, handoff = db_services.store, db_services.handoff
    ann = Accounts(db_services.db).add("ann", PASSWORD, "agent", "Ann")
    c = {
        "happy": seed.conversation(store, [{"text": "when does my card arrive", "intent": "card_arrival",
                                            "confidence": 0.95, "feedback": 1}], csat=5, started=DAY),
        "unsure": seed.conversation(store, [{"text": "blorp the zorp", "intent": "nlu_fallback", "confidence": 0.2}],
                                    started=DAY + dt.timedelta(days=1)),
        "angry": seed.conversation(store, [{"text": "exchange rate is awful", "intent": "exchange_rate",
                                            "confidence": 0.8, "feedback": -1}], started=DAY + dt.timedelta(days=2)),
        "low_csat": seed.conversation(store, [{"text": "top up failed", "intent": "top_up_failed",
                                               "confidence": 0.9}], csat=1, started=DAY + dt.timedelta(days=3)),
        "waiting": seed.conversation(store, [{"text": "I want a human now", "intent": "request_human",
                                              "confidence": 0.97}], started=DAY + dt.timedelta(days=4)),
        "down": seed.conversation(store, [{"text": "my card arrive status", "answered": False}],
                                  started=DAY + dt.timedelta(days=5)),
    }
    seed.run(db_services, handoff.request(c["waiting"]["id"], "customer"))
    seed.run(db_services, handoff.request(c["low_csat"]["id"], "customer"))
    seed.run(db_services, handoff.claim(c["low_csat"]["id"], ann))
    seed.run(db_services, handoff.close(c["happy"]["id"], "the customer"))
    return {"ids": {k: v["id"] for k, v in c.items()}, "ann": ann}


def names(db_services, corpus, **params) -> list[str]:
    by_id = {v: k for k, v in corpus["ids"].items()}
    page = list_conversations(db_services.db, ListFilters.parse(params), db_services.settings)
    return [by_id[item["id"]] for item in page["items"]]


def test_each_filter_finds_its_conversations(db_services, corpus):
    n = lambda **p: names(db_services, corpus, **p)  # noqa: E731
    assert n() == ["down", "waiting", "low_csat", "angry", "unsure", "happy"]  # newest first
    assert n(status="waiting") == ["waiting"]
    assert n(status="human") == ["low_csat"]
    assert n(status="closed") == ["happy"]
    assert n(status="bot") == ["down", "angry", "unsure"]
    assert n(status="live") == []  # backdated: no activity in the last minutes
    assert n(outcome="handed_off") == ["waiting", "low_csat"]
    assert n(outcome="fallback") == ["down", "unsure"]
    assert n(outcome="answered") == ["angry", "happy"]
    assert n(low_confidence="1") == ["unsure"]
    assert n(negative="1") == ["low_csat", "angry"]
    assert n(date_from="2026-03-11", date_to="2026-03-12") == ["angry", "unsure"]
    assert n(intent="card_arrival") == ["happy"]
    assert n(q="card arrive") == ["down", "happy"]         # every word, in any turn
    assert n(q="CARD") == ["down", "happy"]                # case-insensitive
    assert n(q="awful") == ["angry"]
    assert n(q='"; drop table turns; --') == []            # quotes and operators are just words
    assert n(q="Ann joined") == ["low_csat"]               # system turns are searchable too
    assert n(fallback="1") == ["down", "unsure"]
    assert n(handed_off="1") == ["waiting", "low_csat"]
    assert n(contained="1") == ["down", "angry", "unsure", "happy"]
    assert n(ids=f"{corpus['ids']['angry']},{corpus['ids']['happy']}") == ["angry", "happy"]
    assert n(outcome="answered", negative="1", intent="exchange_rate") == ["angry"]


def test_keyset_paging_walks_everything_once(db_services, corpus):
    seen, cursor = [], ""
    for _ in range(10):
        page = list_conversations(db_services.db, ListFilters.parse({"cursor": cursor}), db_services.settings,
                                  page_size=4)
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(list(corpus["ids"].values())))


def test_previews_and_queue(db_services, corpus):
    page = list_conversations(db_services.db, ListFilters.parse({"status": "waiting"}), db_services.settings)
    item = page["items"][0]
    assert item["preview"] == "I want a human now" and item["turns"] >= 3
    q = queue(db_services.db, corpus["ann"].id)
    assert [c["id"] for c in q["waiting"]] == [corpus["ids"]["waiting"]]
    assert [c["id"] for c in q["mine"]] == [corpus["ids"]["low_csat"]]


@pytest.mark.parametrize("params, message", [
    ({"status": "nope"}, "status must be"), ({"outcome": "x"}, "outcome must be"),
    ({"date_from": "yesterday"}, "2026-01-31"), ({"date_from": "2026-02-02", "date_to": "2026-02-01"}, "after"),
    ({"cursor": "%%%"}, "damaged"),
])
def test_bad_filters_say_what_to_fix(services, params, message):
    with pytest.raises(BadRequest, match=message):
        list_conversations(services.db, ListFilters.parse(params), services.settings)


def test_the_language_filter_and_column(db_services):
    zh = seed.conversation(db_services.store, [{"text": "我的卡丢了", "language": "zh", "intent": "lost_or_stolen_card",
                                                "confidence": 0.9}], started=DAY)
    en = seed.conversation(db_services.store, [{"text": "my card is lost", "language": "en"}],
                           started=DAY + dt.timedelta(days=1))
    page = list_conversations(db_services.db, ListFilters.parse({"language": "zh"}), db_services.settings)
    assert [(i["id"], i["language"]) for i in page["items"]] == [(zh["id"], "zh")]
    every = list_conversations(db_services.db, ListFilters.parse({}), db_services.settings)["items"]
    assert [(i["id"], i["language"]) for i in every] == [(en["id"], "en"), (zh["id"], "zh")]
    with pytest.raises(BadRequest, match="language code"):
        ListFilters.parse({"language": "<script>"})
    handoff = db_services.handoff
    seed.run(db_services, handoff.request(zh["id"], "customer"))
    ann = Accounts(db_services.db).add("lin", PASSWORD, "agent", "Lin")
    waiting = queue(db_services.db, ann.id)["waiting"]
    assert [(c["id"], c["language"]) for c in waiting] == [(zh["id"], "zh")]  # seen before taking over
