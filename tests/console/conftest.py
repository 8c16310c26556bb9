"""Fixtures for the console tests: the real app factory on a real store, logged-in clients, and
a few conversations written through the channel's own ConversationStore."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from bot.app import build_services, create_app
from bot.console.accounts import Accounts
from core.settings import Settings
from tests.support import free_port

PASSWORD = "correct horse battery staple"


def make_settings(db_url: str, tmp_path, **overrides) -> Settings:
    # Rasa is deliberately not running here: a free port nobody listens on (pause/resume degrade
    # politely; the browser test runs the real Rasa).
    return Settings(database_url=db_url, var_dir=tmp_path / "var", rasa_url=f"http://127.0.0.1:{free_port()}",
                    rasa_timeout_s=1.0, **overrides)


def started(db_url: str, tmp_path):
    svc = build_services(make_settings(db_url, tmp_path))
    svc.db.migrate()
    yield svc
    svc.db.dispose()


@pytest.fixture
def services(sqlite_url, tmp_path):
    yield from started(sqlite_url, tmp_path)


@pytest.fixture
def db_services(db_url, tmp_path):
    """Services on SQLite and on PostgreSQL (the `db_url` fixture)."""
    yield from started(db_url, tmp_path)


@pytest.fixture
def users(services):
    accounts = Accounts(services.db)
    return {"agent": accounts.add("ann", PASSWORD, "agent", "Ann Agent"),
            "agent2": accounts.add("bob", PASSWORD, "agent", "Bob"),
            "admin": accounts.add("root", PASSWORD, "admin", "Ada Admin")}


@pytest.fixture
def app(services):
    return create_app(services)


def login(client: TestClient, username: str, password: str = PASSWORD, follow: bool = False):
    page = client.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post("/console/login", data={"username": username, "password": password, "csrf_token": token},
                       follow_redirects=follow)


def csrf_of(client: TestClient) -> str:
    page = client.get("/console/conversations")
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)


@pytest.fixture
def client_for(app, users):
    """`client_for("agent")` -> a TestClient logged in as that user (its CSRF token as .csrf); all closed after."""
    clients = []

    def make(role: str | None, base_url: str = "http://console.test") -> TestClient:
        # entered: the app's lifespan runs once on one event loop, and its exit closes the Rasa client's session
        client = TestClient(app, base_url=base_url).__enter__()
        clients.append(client)
        if role is not None:
            r = login(client, users[role].username)
            assert r.status_code == 303, r.text
            client.csrf = csrf_of(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)
