"""The lean SQL tracker store against Rasa's own, in the real Rasa runtime, on a SQLite file and on PostgreSQL:
the same conversation saved turn by turn through each writes the same rows; each store reads back what the
other wrote (the current session, and every session with `retrieve_full_tracker`); a save with nothing new
writes nothing; an unknown sender is None; another thread reads through the same pool; and on SQLite the
engine keeps its connection."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.engine import make_url

from tests.nlu.conftest import RASA_PYTHON, run_rasa_python
from tests.support import ROOT

RASA_ONLY = {"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"}

CHECK = r"""
import asyncio, json, sys, threading
import numpy as np
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
import rasa_plugins.featurizer  # the Rasa patches a served model runs with
from bench.rasa_conversation import SLOTS_YAML, session_start, turn_events
from rasa_plugins.channel import TurnEventsSQLTrackerStore

keys = json.loads(sys.argv[1])
domain = Domain.from_yaml(SLOTS_YAML)
rasa = SQLTrackerStore(domain=domain, **keys)
lean = TurnEventsSQLTrackerStore(domain=domain, **keys)
run = asyncio.new_event_loop().run_until_complete
rng = np.random.default_rng(0)
turns = [session_start() + turn_events(0, 0, rng)] + [turn_events(0, t, rng) for t in (1, 2)] + \
        [session_start() + turn_events(1, 0, rng)] + [turn_events(1, 1, rng)]
for sender, store in (("by_rasa", rasa), ("by_lean", lean)):
    for events in turns:  # Rasa's cycle per message: read, append, save
        tracker = run(store.retrieve(sender)) or DialogueStateTracker(sender, domain.slots)
        for event in events:
            tracker.update(event)
        run(store.save(tracker))
table = rasa.SQLEvent.__table__
def rows(sender):
    with rasa.engine.connect() as conn:
        found = conn.execute(sa.select(table).where(table.c.sender_id == sender).order_by(table.c.id)).mappings()
        return [{k: v for k, v in r.items() if k not in ("id", "sender_id")} for r in found]
def dicts(tracker):
    return None if tracker is None else [e.as_dict() for e in tracker.events]
before = len(rows("by_lean"))
run(lean.save(run(lean.retrieve("by_lean"))))  # nothing new: nothing written
out = {
    "rows": len(rows("by_rasa")), "same_rows": rows("by_rasa") == rows("by_lean"),
    "resave_adds": len(rows("by_lean")) - before,
    "session_events": len(run(lean.retrieve("by_rasa")).events),
    "reads_rasas": dicts(run(lean.retrieve("by_rasa"))) == dicts(run(rasa.retrieve("by_rasa"))),
    "rasa_reads_ours": dicts(run(rasa.retrieve("by_lean"))) == dicts(run(lean.retrieve("by_lean"))),
    "full_same": dicts(run(lean.retrieve_full_tracker("by_rasa"))) == dicts(run(rasa.retrieve_full_tracker("by_rasa"))),
    "full_events": len(run(lean.retrieve_full_tracker("by_lean")).events),
    "unknown": [run(lean.retrieve("nobody")), run(lean.retrieve_full_tracker("nobody"))],
    "slot": run(lean.retrieve("by_rasa")).get_slot("card_last4"),
    "pool": type(lean.engine.pool).__name__,
}
seen = {}
def elsewhere():  # another thread, handed the pooled connection the main thread opened
    seen["events"] = dicts(asyncio.new_event_loop().run_until_complete(lean.retrieve("by_lean")))
worker = threading.Thread(target=elsewhere)
worker.start()
worker.join()
out["other_thread"] = seen.get("events") == dicts(run(lean.retrieve("by_lean")))
print(json.dumps(out))
"""


def _store_keys(url: str) -> dict:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return {"dialect": "sqlite", "db": u.database}
    return {"dialect": "postgresql", "host": u.host, "port": u.port or 5432, "db": u.database,
            "username": u.username}


@pytest.mark.slow
def test_lean_store_writes_and_reads_as_rasas(db_url):
    if not RASA_PYTHON.exists():
        pytest.fail("the Rasa runtime (.venv-rasa) is not installed: run `make setup`")
    done = run_rasa_python(CHECK.replace("sys.argv[1]", repr(json.dumps(_store_keys(db_url)))), env=RASA_ONLY,
                           cwd=ROOT)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    # 2 sessions: 3 session-start events each, 5 events an exchange; 3 exchanges, then 2
    assert out["rows"] == 3 + 3 * 5 + 3 + 2 * 5
    assert out["same_rows"], "the lean store wrote other rows than Rasa's for the same conversation"
    assert out["resave_adds"] == 0
    # the current session only, as Rasa reads it: from `session_started` on (its `action_session_start` is older)
    assert out["session_events"] == 2 + 2 * 5
    assert out["reads_rasas"] and out["rasa_reads_ours"] and out["full_same"]
    assert out["full_events"] == out["rows"]
    assert out["unknown"] == [None, None]
    assert out["slot"] == "1001"
    assert out["other_thread"], "a read from another thread failed"
    assert out["pool"] == "QueuePool"  # on SQLite ours (Rasa: NullPool), on PostgreSQL Rasa's own
