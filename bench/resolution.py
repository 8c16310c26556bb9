"""Benchmark of the resolution dashboard's report on a large generated store (not a test).

    python -m bench.resolution --db sqlite:///var/bench/resolution.db --conversations 20000

Fills an empty scratch database with bench.console_list's generated conversations (90 days, three
exchanges each, thumbs and CSAT at random), marks the bot turns as KB answers of their intent's
article, then times `bot.console.resolution_report.report` over the last 30 days (loading the
conversations and turns, the return rule, every rate table). Prints ONE JSON object on stdout;
progress goes to stderr. Results: docs/benchmarks.md, "Console".
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from sqlalchemy import func, select, update

from bench.console_list import generate, say
from bot.console.analytics import DateRange
from bot.console.resolution_report import report
from core.store.db import Database
from core.store.models import Conversation, Turn


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True, help="SQLAlchemy URL of an empty scratch database (it is filled)")
    ap.add_argument("--conversations", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=30, help="the report's date range, ending today")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    db = Database(args.db)
    db.migrate()
    with db.session() as s:
        have = s.execute(select(func.count()).select_from(Conversation)).scalar_one()
    if have not in (0, args.conversations):
        raise SystemExit(f"{args.db} holds {have:,} conversations, not {args.conversations:,}; "
                         "point --db at an empty scratch database.")
    if not have:
        say(f"generating {args.conversations:,} conversations")
        generate(db, args.conversations)
        with db.session() as s:
            s.execute(update(Turn).where(Turn.speaker == "bot").values(answer_source="kb", sources=[
                {"title": "article", "url": None, "doc_id": "card_arrival.md", "score": 0.8}]))
    rng = DateRange.last_days(args.days)
    times, data = [], None
    for _ in range(args.runs):
        t0 = time.perf_counter()
        data = report(db, rng, 24.0)
        times.append(time.perf_counter() - t0)
    n = data["summary"]["conversations"]
    print(json.dumps({"db": db.engine.dialect.name, "conversations": args.conversations, "in_range": n,
                      "days": args.days, "runs": args.runs, "median_s": round(statistics.median(times), 3),
                      "ms_per_conversation": round(1000 * statistics.median(times) / max(n, 1), 3),
                      "classes": {k: data["summary"][k] for k in ("confirmed", "assumed", "not_resolved")}}))
    db.dispose()


if __name__ == "__main__":
    main()
