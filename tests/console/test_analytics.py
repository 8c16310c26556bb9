"""Dashboard numbers on a known store, the unanswered-question clusters from the real encoder,
the SVG charts' click-through links, and the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from urllib.parse import parse_qs, urlsplit

from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from bot.app import build_services, create_app
from bot.console import analytics
from bot.console.accounts import Accounts
from bot.console.listing import ListFilters, list_conversations
from tests.console import seed
from tests.console.conftest import PASSWORD, login, make_settings

D1 = dt.datetime(2026, 5, 4, 10, tzinfo=dt.UTC)
D2 = D1 + dt.timedelta(days=1)
RANGE = {"date_from": "2026-05-04", "date_to": "2026-05-06"}


def build(services):
    store, handoff = services.store, services.handoff
    seed.conversation(store, [{"text": "where is my card", "intent": "card_arrival", "confidence": 0.9,
                               "feedback": 1}], csat=5, started=D1)
    seed.conversation(store, [{"text": "card still not here", "intent": "card_arrival", "confidence": 0.8,
                               "feedback": -1}], csat=1, started=D1)
    lost = [seed.conversation(store, [{"text": text, "intent": "nlu_fallback", "confidence": 0.1}], started=D2)
            for text in ("can I pay my rent with bitcoin", "is paying rent in bitcoin allowed",
                         "bitcoin rent payment possible?", "what is the weather in Paris")]
    handed = seed.conversation(store, [{"text": "human please", "intent": "request_human", "confidence": 0.99}],
                               started=D2)
    seed.run(services, handoff.request(handed["id"], "customer"))
    return lost, handed


def test_numbers_per_day_and_summary(services):
    lost, handed = build(services)
    rng = analytics.DateRange(D1.date(), D2.date() + dt.timedelta(days=1))
    days = analytics.daily(services.db, rng, services.settings)
    assert [(d["day"], d["conversations"], d["handed_off"], d["fallback"]) for d in days] == [
        ("2026-05-04", 2, 0, 0), ("2026-05-05", 5, 1, 4), ("2026-05-06", 0, 0, 0)]
    s = analytics.summary(days)
    assert s["conversations"] == 7 and s["containment"] == round(6 / 7, 4) and s["handoff_rate"] == round(1 / 7, 4)
    assert s["fallback_rate"] == round(4 / 7, 4) and s["csat_avg"] == 3.0 and s["csat_low"] == 1
    assert (s["thumbs_up"], s["thumbs_down"]) == (1, 1)
    assert analytics.csat_distribution(services.db, rng) == {1: 1, 2: 0, 3: 0, 4: 0, 5: 1}
    top = analytics.top_intents(services.db, rng)
    assert top[0] == {"intent": "nlu_fallback", "count": 4} and top[1] == {"intent": "card_arrival", "count": 2}


def test_dashboard_clusters_links_and_csv(client_for, services):
    lost, handed = build(services)
    ann = client_for("agent")
    page = ann.get("/console/analytics", params=RANGE)
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.select("svg.chart rect.bar")
    # every bar and tile opens the conversation list filtered to exactly what it counts
    for link in soup.select("svg.chart a, a.tile"):
        params = {k: v[0] for k, v in parse_qs(urlsplit(link["href"]).query).items()}
        shown = list_conversations(services.db, ListFilters.parse(params), services.settings)["items"]
        assert urlsplit(link["href"]).path == "/console/conversations"
        assert ann.get(link["href"]).status_code == 200
        value = link.select_one("title").text.rsplit(": ", 1)[-1] if link.select_one("title") else None
        if value is not None and link.find_parent("svg") and "★" not in link.text:
            assert len(shown) == int(float(value)), link["href"]
    handoff_tile = next(a for a in soup.select("a.tile") if "handed off" in a.text)
    assert "handed_off=1" in handoff_tile["href"]
    # the three bitcoin questions are one cluster, the weather another
    rows = soup.select("#unanswered tbody tr")
    first = rows[0].select("td")
    assert "bitcoin" in first[0].text and first[1].text == "3"
    ids = parse_qs(urlsplit(rows[0].select_one("a")["href"]).query)["ids"][0].split(",")
    assert sorted(ids) == sorted(c["id"] for c in lost[:3])
    assert any("weather" in r.text for r in rows[1:])
    # CSV
    r = ann.get(soup.select_one("#csv-link")["href"])
    assert r.headers["content-type"].startswith("text/csv") and "attachment" in r.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(r.text)))
    daily = [row for row in table if row and row[0] == "daily"]
    assert [row[1:4] for row in daily] == [["2026-05-04", "2", "0"], ["2026-05-05", "5", "1"],
                                           ["2026-05-06", "0", "0"]]
    assert ["intent", "card_arrival", "2"] in table
    assert any(row[:3] == ["unanswered", first[0].text, "3"] for row in table)


def test_csv_cells_never_become_formulas(services, client_for):
    seed.conversation(services.store, [{"text": "=HYPERLINK(\"http://evil\")", "intent": "nlu_fallback",
                                        "confidence": 0.1}], started=D1)
    body = client_for("agent").get("/console/analytics.csv", params=RANGE).text
    assert "'=HYPERLINK" in body
    assert client_for("agent").get("/console/analytics", params={"date_from": "2020-01-01",
                                                                 "date_to": "2026-01-01"}).status_code == 422


def test_a_missing_encoder_leaves_the_rest_of_the_dashboard(sqlite_url, tmp_path):
    services = build_services(make_settings(sqlite_url, tmp_path, encoder_model=str(tmp_path / "no-model")))
    services.db.migrate()
    build(services)
    Accounts(services.db).add("ann", PASSWORD, "agent")
    with TestClient(create_app(services)) as client:
        login(client, "ann")
        page = client.get("/console/analytics", params=RANGE)
        assert page.status_code == 200 and "Clustering is unavailable" in page.text and "no-model" in page.text
        assert "conversations" in BeautifulSoup(page.text, "html.parser").select_one("a.tile").text
