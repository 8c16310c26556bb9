"""Start-up recovery with several replicas: a replica that starts leaves alone an unanswered message that
another replica may still be answering; a single replica answers it (bot/recovery.py)."""

from __future__ import annotations

import asyncio
import time

from bot.app import build_services
from bot.sessions import Sessions
from core.settings import Settings


def unfinished_turn(db_url: str) -> tuple[str, int]:
    """A customer message stored and acknowledged by a replica that then died (no answer, no mark)."""
    services = build_services(Settings(database_url=db_url))
    services.db.migrate()
    _, session = Sessions(services.store, 30).create_widget_session(None)
    turn = services.store.append_customer_turn(session["session_id"], "widget", "hello", "m-1")
    services.db.dispose()
    return turn["conversation_id"], turn["turn_id"]


async def answered_flag(svc, conv: str, deadline_s: float) -> bool | None:
    deadline = time.monotonic() + deadline_s
    while True:
        [turn] = [t for t in svc.store.history(conv) if t["speaker"] == "customer"]
        if turn["answered"] is not None or time.monotonic() > deadline:
            return turn["answered"]
        await asyncio.sleep(0.1)


async def test_with_a_shared_hub_a_fresh_unanswered_turn_is_left_to_its_replica(service_factory, sqlite_url,
                                                                                redis_server):
    conv, _ = unfinished_turn(sqlite_url)
    async with service_factory(hub_url=redis_server.url(4)) as svc:
        assert await answered_flag(svc, conv, 3.0) is None  # not re-asked: the widget's resend answers it


async def test_a_single_replica_answers_it_at_start(service_factory, sqlite_url):
    conv, _ = unfinished_turn(sqlite_url)
    async with service_factory() as svc:
        assert await answered_flag(svc, conv, 20.0) is True
