"""The bot service loads its request-path models before it serves (bot/app.py `run_warm_ups`).

Real parts: the app factory with real services on SQLite, the real PII engine (spaCy, Presidio) and
lingua, started through the app's lifespan by Starlette's TestClient.
"""

from __future__ import annotations

import logging

from fastapi.testclient import TestClient

from bot.app import create_app, run_warm_ups
from privacy import get_engine


def test_the_pii_engine_is_loaded_before_the_first_request(services):
    app = create_app(services)
    assert [w.__qualname__ for w in app.state.warm_ups] == ["warm_up", "Masker.warm_up"]
    with TestClient(app) as client:
        assert get_engine()._analyzer is not None  # loaded by the lifespan, not by a request
        assert client.get("/healthz").status_code == 200


def test_a_failing_warm_up_is_logged_and_the_others_still_run(caplog):
    ran = []

    def broken():
        raise OSError("model files missing")

    with caplog.at_level(logging.WARNING, logger="bot.app"):
        run_warm_ups([broken, lambda: ran.append("next")])
    assert ran == ["next"]
    assert any("broken" in r.getMessage() and "model files missing" in r.getMessage() for r in caplog.records)
