"""Retention deletes only what is old; the storage-policy job rewrites only closed conversations older
than `pii_redact_after_days` (turns, contact, full-text index, Rasa's tracker events) and leaves live
and recent ones raw; the bot service runs both on its own schedule."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from core.store.models import AuditEvent, Conversation
from privacy import redaction_job, retention

NAME_TURNS = [("customer", "Hi, my name is Rhiannon Okafor, email rhiannon.okafor@example.com"),
              ("bot", "Thanks Rhiannon Okafor, how can I help?"),
              ("customer", "My card was stolen, I live at 221B Baker Street, London NW1 6XE")]


def test_retention_deletes_only_old_conversations(world):
    old = world.customer([("customer", "old question about fees"), ("bot", "answer")], status="closed", age_days=400)
    recent = world.customer([("customer", "new question about fees"), ("bot", "answer")], status="closed", age_days=3)
    world.rasa_tracker([old, recent])
    assert retention.run(world.stores, 0)["deleted_conversations"] == 0  # 0 keeps everything
    report = retention.run(world.stores, 365)
    assert report["deleted_conversations"] == 1 and report["rasa_tracker_events"] > 0
    with world.db.session() as s:
        assert s.get(Conversation, old.conversation_id) is None
        assert s.get(Conversation, recent.conversation_id) is not None
        assert s.scalars(select(AuditEvent.action)).all() == ["retention"]
    assert world.tracker_rows(old.conversation_id) == [] and world.tracker_rows(recent.conversation_id)
    assert world.fts("old") == set() and world.fts("new")


def test_redaction_job_rewrites_only_closed_and_old(world):
    due = world.customer(NAME_TURNS, contact="rhiannon.okafor@example.com", status="closed", age_days=45)
    live = world.customer([("customer", "I am Bartholomew Quist")], status="human", age_days=45)
    fresh = world.customer([("customer", "I am Cordelia Vantongeren")], status="closed", age_days=2)
    world.rasa_tracker([due, live, fresh], slots={due.conversation_id: {"customer_name": "Rhiannon Okafor"}})
    assert world.fts("Okafor")

    report = redaction_job.run(world.stores, 30)
    assert report["redacted_conversations"] == 1 and report["turns"] == 3 and report["rasa_tracker_events"] >= 3

    redacted = world.turns(due.conversation_id)
    assert all("Okafor" not in t and "Rhiannon" not in t for t in redacted), redacted
    assert "[NAME]" in redacted[0] and "[EMAIL]" in redacted[0] and "[ADDRESS]" in redacted[2]
    assert redacted[1] == "Thanks [NAME], how can I help?"  # the same person keeps one placeholder
    assert world.fts("Okafor") == set() and world.fts("Rhiannon") == set()
    assert world.fts("stolen") == {sorted(world.turn_ids(due.conversation_id))[2]}  # the rest stays searchable
    with world.db.session() as s:
        conv = s.get(Conversation, due.conversation_id)
        assert conv.contact == "[EMAIL]" and conv.redacted_at is not None
    events = world.tracker_rows(due.conversation_id)
    dump = repr(events)
    assert "Okafor" not in dump and "rhiannon.okafor@example.com" not in dump
    assert any(e.get("text") == redacted[0] and e["parse_data"]["text"] == redacted[0] for e in events)
    assert any(e.get("event") == "slot" and e.get("value") == "[NAME]" for e in events)

    assert world.turns(live.conversation_id) == ["I am Bartholomew Quist"]
    assert world.turns(fresh.conversation_id) == ["I am Cordelia Vantongeren"]
    assert "Bartholomew" in repr(world.tracker_rows(live.conversation_id))
    assert redaction_job.run(world.stores, 30)["redacted_conversations"] == 0  # once only


def test_the_service_runs_the_jobs_on_its_own_schedule(sqlite_world):
    from tests.tiny_rasa import running_service

    rasa_url = "http://127.0.0.1:8651"  # no message is sent: the service needs no Rasa for this
    old = sqlite_world.customer([("customer", "an old chat"), ("bot", "ok")], status="closed", age_days=100)
    keep = sqlite_world.customer([("customer", "a recent chat"), ("bot", "ok")], status="closed", age_days=1)
    overrides = dict(retention_days=90, privacy_job_interval_s=0.2, pii_redact_after_days=0,
                     rasa_tracker_url=sqlite_world.settings.tracker_db_url, var_dir=sqlite_world.settings.var_dir)

    async def scenario():
        async with running_service(sqlite_world.settings.db_url, rasa_url, **overrides) as svc:
            deadline = time.monotonic() + 30
            while svc.app.state.privacy_jobs.runs == 0:
                assert time.monotonic() < deadline, "the privacy jobs never ran"
                await asyncio.sleep(0.05)

    asyncio.run(scenario())
    with sqlite_world.db.session() as s:
        assert s.get(Conversation, old.conversation_id) is None
        assert s.get(Conversation, keep.conversation_id) is not None
