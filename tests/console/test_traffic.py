"""Traffic that is not a customer's stays out of the analytics: a session rate-limited over the real widget
socket, a session sending invalid frames, and the load generator's API key (real app, real SQLite file)."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.apikeys import ApiKeys
from bot.app import build_services, create_app
from bot.console import analytics
from bot.console.accounts import Accounts
from core.store.models import Conversation
from tests.console import seed
from tests.console.conftest import PASSWORD, login, make_settings

TODAY = analytics.DateRange.last_days(1)


def _drain_until(ws, kind: str) -> dict:
    while (event := ws.receive_json())["type"] != kind:
        pass
    return event


def test_analytics_ignore_a_rate_limited_session(sqlite_url, tmp_path):
    services = build_services(make_settings(sqlite_url, tmp_path, session_rate_per_minute=1.0, session_rate_burst=2))
    services.db.migrate()
    Accounts(services.db).add("ann", PASSWORD, "agent", "Ann")
    customer = seed.conversation(services.store, [{"text": "where is my card", "intent": "card_arrival",
                                                   "confidence": 0.9}])
    app = create_app(services)
    try:
        with TestClient(app) as client:
            with client.websocket_connect("/ws", headers={"origin": "http://testserver"}) as ws:
                ws.send_json({"type": "hello"})
                session = _drain_until(ws, "session")
                errors = []
                for i in range(4):  # Rasa is down here: each message is stored and answered with a notice
                    ws.send_json({"type": "message", "text": f"zzqx garbage {i}", "client_msg_id": f"g{i}"})
                for _ in range(40):
                    event = ws.receive_json()
                    if event["type"] == "error":
                        errors.append(event["code"])
                    if errors:
                        break
            assert errors == ["rate_limited"]
            with services.db.session() as s:
                flagged = s.scalar(select(Conversation.excluded).where(Conversation.id == session["conversation_id"]))
                mine = s.scalar(select(Conversation.excluded).where(Conversation.id == customer["id"]))
            assert (flagged, mine) == ("rate_limited", None)

            assert login(client, "ann").status_code == 303
            data = client.get("/api/console/analytics", params={"date_from": TODAY.start.isoformat(),
                                                                "date_to": TODAY.end.isoformat()}).json()
            assert data["summary"]["conversations"] == 1  # the customer's, not the rate-limited session's
            assert data["sources"]["fallback"] == 0  # the notices the flood got are not counted
            questions = app.state.console.clusters.questions(TODAY)
            assert not any("garbage" in text for _id, _conv, text in questions)
            listed = client.get("/api/console/conversations", params={"customers": "1"}).json()["items"]
            assert [c["id"] for c in listed] == [customer["id"]]
            everything = client.get("/api/console/conversations").json()["items"]
            assert len(everything) == 2  # still stored and listed; only the analytics leave it out
    finally:
        services.db.dispose()


def test_invalid_frames_and_the_load_generators_key_mark_their_conversations(services, app):
    key, _ = ApiKeys(services.db).create("loadgen")
    other, _ = ApiKeys(services.db).create("shop")
    with TestClient(app) as client:
        with client.websocket_connect("/ws", headers={"origin": "http://testserver"}) as ws:
            ws.send_json({"type": "hello"})
            session = _drain_until(ws, "session")
            ws.send_json({"type": "message", "text": "hello there", "client_msg_id": "ok1"})
            _drain_until(ws, "message")
            ws.send_text("{not json")
            assert _drain_until(ws, "error")["code"] == "invalid_json"
        loaded = client.post("/api/messages", json={"text": "load test"}, headers={"Authorization": f"Bearer {key}"})
        shop = client.post("/api/messages", json={"text": "a real question"},
                           headers={"Authorization": f"Bearer {other}"})
    assert loaded.status_code == 200 and shop.status_code == 200
    with services.db.session() as s:
        marks = dict(s.execute(select(Conversation.id, Conversation.excluded)).all())
    assert marks == {session["conversation_id"]: "invalid_frames", loaded.json()["conversation_id"]: "load_generator",
                     shop.json()["conversation_id"]: None}
    days = analytics.daily(services.db, analytics.DateRange.last_days(1, dt.datetime.now(dt.UTC).date()),
                           services.settings)
    assert sum(d["conversations"] for d in days) == 1
