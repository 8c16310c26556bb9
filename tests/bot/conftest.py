"""Fixtures of the bot-service tests; the tiny real Rasa bot itself lives in tests/tiny_rasa.py."""

from __future__ import annotations

import pytest

from tests.tiny_rasa import running_service


@pytest.fixture
def service_factory(sqlite_url, rasa_server):
    """`async with service_factory(**settings) as svc:` -> a running bot service on a fresh SQLite file."""

    def make(db_url: str | None = None, rasa: str | None = None, **overrides):
        overrides.setdefault("rasa_tracker_url", rasa_server.tracker_url)
        return running_service(db_url or sqlite_url, rasa or rasa_server.url, **overrides)

    return make
