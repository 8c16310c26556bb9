"""Benchmark of the console's conversation list on a large generated store (not a test).

    python -m bench.console_list --db sqlite:///var/bench/console.db --conversations 100000
    python -m bench.console_list --db postgresql://postgres@127.0.0.1:5432/console_bench

Generates N conversations of three customer/bot exchanges (customer texts from Banking77, so the
full-text search sees real words), unless the database already holds exactly that many, then times
every list filter end to end (`list_conversations`: the page query plus its previews) and records
the query plan of each. Prints ONE JSON object on stdout; progress goes to stderr.
Results: docs/benchmarks.md, "Console".
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import statistics
import sys
import time
import uuid

from sqlalchemy import func, insert, select, text

from bot.console.listing import ListFilters, build_query, list_conversations
from core.paths import datasets_dir
from core.settings import Settings
from core.store.db import Database
from core.store.models import Conversation, CustomerSession, Turn

STATUSES = [("closed", 0.80), ("bot", 0.17), ("waiting", 0.02), ("human", 0.01)]
OUTCOMES = {"closed": [("answered", 0.6), ("handed_off", 0.15), ("fallback", 0.15), ("abandoned", 0.1)],
            "bot": [("answered", 0.8), ("fallback", 0.2)], "waiting": [("handed_off", 1.0)],
            "human": [("handed_off", 1.0)]}
QUERIES: dict[str, dict] = {
    "all, page 1": {},
    "status=waiting": {"status": "waiting"},
    "status=live": {"status": "live"},
    "outcome=fallback": {"outcome": "fallback"},
    "low confidence": {"low_confidence": "1"},
    "thumbs-down or low CSAT": {"negative": "1"},
    "date range (one week)": {"date_from": "-30", "date_to": "-24"},
    "intent=card_arrival": {"intent": "card_arrival"},
    "intent (rare)=nlu_fallback": {"intent": "nlu_fallback"},
    "search 'refund'": {"q": "refund"},
    "search 'card arrived' (two words)": {"q": "card arrived"},
    "search + status=closed + low confidence": {"q": "exchange rate", "status": "closed", "low_confidence": "1"},
    "intent + date range + negative": {"intent": "card_arrival", "date_from": "-60", "date_to": "-1",
                                       "negative": "1"},
    "page 200 (keyset cursor)": {"page": 200},
}


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def banking77() -> list[tuple[str, str]]:
    base = datasets_dir()
    path = base / "banking77" / "train.csv"
    if not path.is_file():
        raise SystemExit(f"{path} not found: set SUPPORTBOT_DATASETS_DIR to the folder holding banking77/.")
    with path.open(newline="") as fh:
        return [(row["text"], row["category"]) for row in csv.DictReader(fh)]


def generate(db: Database, n: int, seed: int = 7, batch: int = 5000) -> float:
    """Insert n conversations (3 exchanges each) in batches; returns the seconds it took."""
    rng, examples, now = random.Random(seed), banking77(), dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        sessions, convs, turns = [], [], []
        for _ in range(min(batch, n - start)):
            sid, cid = uuid.UUID(int=rng.getrandbits(128)).hex, uuid.UUID(int=rng.getrandbits(128)).hex
            started = now - dt.timedelta(seconds=rng.uniform(0, 90 * 86400))
            status = pick(rng, STATUSES)
            if status in ("bot", "waiting", "human") and rng.random() < 0.3:
                started = now - dt.timedelta(seconds=rng.uniform(0, 1200))
            confs = []
            for k in range(3):
                textv, intent = rng.choice(examples)
                conf = rng.betavariate(5, 1.5)
                if conf < 0.3:
                    intent = "nlu_fallback"
                confs.append(conf)
                ts = started + dt.timedelta(seconds=20 * k)
                turns.append({"conversation_id": cid, "seq": 2 * k, "speaker": "customer", "text": textv,
                              "created_at": ts, "intent": intent, "confidence": conf, "answered": True})
                turns.append({"conversation_id": cid, "seq": 2 * k + 1, "speaker": "bot",
                              "text": f"Here is what I found about {intent.replace('_', ' ')}.",
                              "created_at": ts + dt.timedelta(seconds=1), "action": "action_answer_question",
                              "feedback": rng.choice([None] * 8 + [1, -1])})
            negative = any(t["feedback"] == -1 for t in turns[-6:] if t["speaker"] == "bot")
            sessions.append({"id": sid, "token_hash": uuid.UUID(int=rng.getrandbits(128)).hex + sid[:32],
                             "channel": "widget", "created_at": started, "last_seen_at": started})
            convs.append({"id": cid, "session_id": sid, "channel": "widget", "status": status,
                          "outcome": pick(rng, OUTCOMES[status]), "started_at": started,
                          "last_activity_at": started + dt.timedelta(seconds=61),
                          "ended_at": started + dt.timedelta(seconds=120) if status == "closed" else None,
                          "csat": rng.randint(1, 5) if rng.random() < 0.3 else None, "min_confidence": min(confs),
                          "has_negative_feedback": negative, "meta": {}})
        with db.engine.begin() as conn:
            conn.execute(insert(CustomerSession), sessions)
            conn.execute(insert(Conversation), convs)
            conn.execute(insert(Turn), [{k: t.get(k) for k in
                                         ("conversation_id", "seq", "speaker", "text", "created_at", "intent",
                                          "confidence", "answered", "action", "feedback")} for t in turns])
        say(f"  generated {start + len(convs):,} / {n:,}")
    vacuum(db)
    return time.perf_counter() - t0


def vacuum(db: Database) -> None:
    """Planner statistics, and on PostgreSQL the visibility map that index-only scans need
    (what autovacuum gives a production database after a bulk load)."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"))


def params_for(spec: dict) -> dict:
    """Relative dates ("-30" = 30 days ago) made absolute, so the bench works on any day."""
    today = dt.datetime.now(dt.UTC).date()
    out = {}
    for k, v in spec.items():
        if k in ("date_from", "date_to"):
            v = (today + dt.timedelta(days=int(v))).isoformat()
        out[k] = v
    return out


def cursor_at(db: Database, settings: Settings, page: int) -> str:
    """The cursor of page `page` of the unfiltered list (walked once, outside the timing)."""
    cursor = ""
    for _ in range(page - 1):
        cursor = list_conversations(db, ListFilters.parse({"cursor": cursor}), settings)["next_cursor"] or ""
        if not cursor:
            raise SystemExit(f"the store has fewer than {page} pages; generate more conversations")
    return cursor


def plan(db: Database, settings: Settings, f: ListFilters) -> list[str]:
    stmt = build_query(f, settings, db.engine.dialect.name).limit(settings.console_page_size + 1)
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "sqlite":
            return [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql)
        return [row[0].strip() for row in rows]


def measure(db: Database, settings: Settings, runs: int) -> dict:
    out = {}
    for name, spec in QUERIES.items():
        spec = dict(spec)
        params = params_for({k: v for k, v in spec.items() if k != "page"})
        if "page" in spec:
            params["cursor"] = cursor_at(db, settings, spec["page"])
        f = ListFilters.parse(params)
        times, rows = [], 0
        for _ in range(runs):
            t0 = time.perf_counter()
            rows = len(list_conversations(db, f, settings)["items"])
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        out[name] = {"p50_ms": round(statistics.median(times), 2),
                     "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 2),
                     "rows": rows, "plan": plan(db, settings, f)}
        say(f"  {name:45s} p50 {out[name]['p50_ms']:8.2f} ms  rows {rows}")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True, help="SQLAlchemy URL of a scratch database (it is filled)")
    ap.add_argument("--conversations", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=20, help="timed runs per query")
    args = ap.parse_args(argv)
    settings = Settings(database_url=args.db)
    db = Database(args.db)
    db.migrate()
    with db.session() as s:
        have = s.execute(select(func.count()).select_from(Conversation)).scalar_one()
    generate_s = None
    if have != args.conversations:
        if have:
            raise SystemExit(f"{args.db} holds {have:,} conversations, not {args.conversations:,}; "
                             "point --db at an empty scratch database.")
        say(f"generating {args.conversations:,} conversations into {db.engine.dialect.name}")
        generate_s = round(generate(db, args.conversations), 1)
    else:
        vacuum(db)
    with db.session() as s:
        turns = s.execute(select(func.count()).select_from(Turn)).scalar_one()
    say("timing the list queries")
    result = {"db": db.engine.dialect.name, "conversations": args.conversations, "turns": turns,
              "page_size": settings.console_page_size, "runs": args.runs, "generate_s": generate_s,
              "queries": measure(db, settings, args.runs)}
    db.dispose()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
