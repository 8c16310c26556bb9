"""The whole platform as processes: the real Rasa server with the trained demo model, the real action
server and the real bot service, on free ports, with a fresh SQLite store per test session.

The artifacts (ONNX encoder, KB index, Rasa model) are the project's own, built by `supportbot train`
exactly as `make run` builds them (skipped when already up to date).
"""

from __future__ import annotations

import pytest

from bot.processes import platform_services, stop_all, wait_healthy
from core.settings import Settings
from tests.support import free_port

REDIS_URL = "redis://127.0.0.1:6379/5"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    from bot.training import train_all

    settings = Settings(first_model_logs="")  # the background first dialogue model: tests/finetune/test_first_model.py
    report = train_all(settings, say=lambda m: print(m))
    return settings, report


class Stack:
    def __init__(self, settings: Settings, services, log_dir):
        self.settings = settings
        self.services = {s.name: s for s in services}
        self.log_dir = log_dir
        self.url = f"http://127.0.0.1:{settings.port}"
        self.ws_url = f"ws://127.0.0.1:{settings.port}"


@pytest.fixture(scope="session")
def stack(trained, tmp_path_factory):
    base, _ = trained
    tmp = tmp_path_factory.mktemp("stack")
    settings = base.model_copy(update={
        "port": free_port(), "rasa_port": free_port(), "action_port": free_port(),
        "database_url": f"sqlite:///{tmp / 'supportbot.db'}",
        "rasa_tracker_url": f"sqlite:///{tmp / 'tracker.db'}",
        "rasa_timeout_s": 8.0,
        # as in production with several Rasa replicas: Redis lock store, RabbitMQ event broker
        "rasa_lock_store_url": REDIS_URL,
        "rasa_event_broker_url": AMQP_URL,
    })
    from core.store.db import Database

    db = Database(settings.db_url)
    db.migrate()
    db.dispose()
    services = platform_services(settings)
    for svc in services:
        svc.env["SUPPORTBOT_RASA_TIMEOUT_S"] = str(settings.rasa_timeout_s)
    try:
        for svc in services:
            svc.start(tmp / "logs")
        wait_healthy(services, timeout=300)
        yield Stack(settings, services, tmp / "logs")
    finally:
        stop_all(services)
