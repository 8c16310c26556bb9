"""`python -m bench.tracker_store`: Rasa's CPU per message in its tracker store, Rasa's `SQLTrackerStore` against ours.

Every message Rasa handles reads the conversation's tracker from the tracker store and saves the new events
after it. This replays that cycle for a conversation of two sessions of `--turns` exchanges each (the events
of bench/rasa_conversation.py: parse data with the packed embedding, the KB action, the answer, a slot) on a
real SQLite file in WAL mode, as `supportbot up` runs it, once with Rasa's store (`type: SQL`) and once with
`rasa_plugins.channel.TurnEventsSQLTrackerStore` (rasa_plugins/sql_tracker_store.py), each on its own file.
Per message: `retrieve`, append the turn's events, `save`; CPU from `time.process_time`, wall from
`perf_counter`. Prints one JSON object: per store the mean and the last session's mean of CPU and wall ms per
message, and whether both files hold the same rows. Runs in Rasa's runtime; from the main environment it
starts `.venv-rasa/bin/python` itself.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.action_request import RASA_PYTHON, ROOT


def _replay(store, domain, turns: int, run) -> dict:
    import time

    import numpy as np
    from rasa.shared.core.trackers import DialogueStateTracker

    from bench.rasa_conversation import session_start, turn_events

    rng = np.random.default_rng(0)
    cpu, wall = [], []
    for session in range(2):
        for t in range(turns):
            events = (session_start() if t == 0 else []) + turn_events(session, t, rng)
            c0, w0 = time.process_time(), time.perf_counter()
            tracker = run(store.retrieve("bench")) or DialogueStateTracker("bench", domain.slots)
            for event in events:
                tracker.update(event)
            run(store.save(tracker))
            cpu.append((time.process_time() - c0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
    last = slice(turns, None)
    return {"cpu_ms_per_message": round(sum(cpu) / len(cpu), 3),
            "cpu_ms_per_message_second_session": round(sum(cpu[last]) / turns, 3),
            "wall_ms_per_message": round(sum(wall) / len(wall), 3)}


def _comparable(row) -> tuple:
    """A stored row without its id and the times the events were made at (two runs make them apart)."""
    data = json.loads(row.data)
    data.pop("timestamp", None)
    return row.sender_id, row.type_name, row.intent_name, row.action_name, data


def in_rasa(turns: int) -> dict:
    import asyncio
    import sqlite3

    import sqlalchemy as sa
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain

    import rasa_plugins.featurizer  # noqa: F401 - installs the Rasa patches a served model runs with
    from bench.rasa_conversation import SLOTS_YAML
    from rasa_plugins.channel import TurnEventsSQLTrackerStore

    domain = Domain.from_yaml(SLOTS_YAML)
    out: dict = {"turns": turns, "messages": 2 * turns}
    rows = {}
    run = asyncio.new_event_loop().run_until_complete
    with tempfile.TemporaryDirectory() as tmp:
        for name, cls in (("rasa", SQLTrackerStore), ("lean", TurnEventsSQLTrackerStore)):
            db = Path(tmp) / f"{name}.db"
            sqlite3.connect(db).execute("PRAGMA journal_mode=WAL").fetchall()  # as bot/processes.py sets it
            store = cls(domain=domain, dialect="sqlite", db=str(db))
            out[name] = _replay(store, domain, turns, run)
            with store.engine.connect() as conn:
                rows[name] = [_comparable(r) for r in conn.execute(sa.text("SELECT * FROM events ORDER BY id"))]
            store.engine.dispose()
    out["same_rows"] = rows["rasa"] == rows["lean"]
    out["cpu_saved_ms_per_message"] = round(out["rasa"]["cpu_ms_per_message"] - out["lean"]["cpu_ms_per_message"], 3)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20, help="exchanges per session (two sessions)")
    args = parser.parse_args(argv)
    try:
        import rasa  # noqa: F401 - in Rasa's runtime already
    except ImportError:  # the main environment: the same command in Rasa's
        if not RASA_PYTHON.exists():
            raise SystemExit("the Rasa runtime (.venv-rasa) is not installed: run `make setup`") from None
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
        sys.exit(subprocess.call([str(RASA_PYTHON), "-m", "bench.tracker_store", *(argv or sys.argv[1:])],
                                 cwd=ROOT, env=env))
    print(json.dumps(in_rasa(args.turns)))


if __name__ == "__main__":
    main()
