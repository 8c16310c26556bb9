"""Resolution rates over a date range: per day, per intent, per KB article and per learnt reply template.

The conversations that started in the range are loaded with the few turn columns the metric reads
(bot/console/resolution.py), plus the same customers' conversations up to `resolution_return_hours`
after the range ends (for the return rule), and classified in Python. Non-customer traffic
(`conversations.excluded`) is skipped. Every cell keeps the ids of its conversations (the first
`MAX_IDS`) so the dashboard links into the conversation list filtered to exactly them. The CSV holds
counts and rates only; intents, article ids and templates pass through the PII engine first.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict

from sqlalchemy import select

from bot.console.analytics import DateRange, _cell, _rate
from bot.console.resolution import CLASSES, Conv, TurnFacts, classify
from bot.solved import is_solved
from core.store.models import Conversation, ConversationStatus, Outcome, Turn

MAX_IDS = 200  # what the conversation list's `ids` filter takes
HANDED = (ConversationStatus.WAITING.value, ConversationStatus.HUMAN.value)
GROUPS = ("day", "intent", "article", "template")


def _turn(row) -> TurnFacts:
    sources = row.sources or []
    article = sources[0].get("doc_id") if sources and isinstance(sources[0], dict) else None
    return TurnFacts(speaker=row.speaker, at=_utc(row.created_at), intent=row.intent,
                     answer_source=row.answer_source, article=article, template=row.answer_template,
                     feedback=row.feedback, solved=is_solved(row.rasa_text))


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def load(db, rng: DateRange, return_hours: float) -> tuple[list[Conv], dict[str, list[Conv]]]:
    """(conversations started in the range, every loaded conversation per customer)."""
    c, t = Conversation, Turn
    until = rng.hi + dt.timedelta(hours=return_hours)
    with db.session() as s:
        convs = s.execute(select(c.id, c.session_id, c.verified_user_id, c.started_at, c.status, c.outcome, c.csat)
                          .where(c.started_at >= rng.lo, c.started_at < until, c.excluded.is_(None))).all()
        ids = [row.id for row in convs]
        turns: dict[str, list[TurnFacts]] = defaultdict(list)
        for start in range(0, len(ids), 500):
            rows = s.execute(select(t.conversation_id, t.speaker, t.created_at, t.intent, t.answer_source, t.sources,
                                    t.answer_template, t.feedback, t.rasa_text)
                             .where(t.conversation_id.in_(ids[start:start + 500])).order_by(t.conversation_id, t.seq))
            for row in rows:
                turns[row.conversation_id].append(_turn(row))
    built = [Conv(id=row.id, customer=row.verified_user_id or row.session_id, started_at=_utc(row.started_at),
                  turns=tuple(turns.get(row.id, ())), csat=row.csat,
                  handed_off=row.outcome == Outcome.HANDED_OFF.value or row.status in HANDED) for row in convs]
    by_customer: dict[str, list[Conv]] = defaultdict(list)
    for conv in built:
        by_customer[conv.customer].append(conv)
    return [cv for cv in built if cv.started_at < rng.hi], by_customer


def _empty() -> dict:
    return {"conversations": 0, **{k: 0 for k in CLASSES}, "ids": {k: [] for k in CLASSES}}


def report(db, rng: DateRange, return_hours: float = 24.0) -> dict:
    """{"summary": row, "day"|"intent"|"article"|"template": [row...], "verdicts": {id: class}}; a row:
    {"key", "conversations", "confirmed", "assumed", "not_resolved", "*_rate", "ids": {class: [...]}}."""
    convs, by_customer = load(db, rng, return_hours)
    tables: dict[str, dict[str, dict]] = {g: defaultdict(_empty) for g in GROUPS}
    total, verdicts = _empty(), {}
    for conv in convs:
        verdict = classify(conv, by_customer[conv.customer], return_hours)
        if verdict is None:
            continue
        verdicts[conv.id] = verdict.resolution
        keys = {"day": [conv.started_at.date().isoformat()], "intent": conv.intents(),
                "article": conv.articles(), "template": conv.templates()}
        for row in [total] + [tables[g][k] for g in GROUPS for k in keys[g]]:
            row["conversations"] += 1
            row[verdict.resolution] += 1
            if len(row["ids"][verdict.resolution]) < MAX_IDS:
                row["ids"][verdict.resolution].append(conv.id)
    out = {"summary": _rates(total, "all"), "verdicts": verdicts}
    for g in GROUPS:
        rows = [_rates(row, key) for key, row in tables[g].items()]
        out[g] = sorted(rows, key=lambda r: r["key"]) if g == "day" else sorted(
            rows, key=lambda r: (-r["conversations"], r["key"]))
    return out


def _rates(row: dict, key: str) -> dict:
    return {"key": key, **row, **{f"{k}_rate": _rate(row[k], row["conversations"]) for k in CLASSES}}


def to_csv(data: dict, redact=lambda text: text) -> str:
    """One table: group, key, conversations, the three counts and rates; keys through `redact`."""
    buf = io.StringIO()
    w = csv.writer(buf)
    cols = ["conversations", *CLASSES, *(f"{k}_rate" for k in CLASSES)]
    w.writerow(["group", "key", *cols])
    w.writerow(["all", "all", *(data["summary"][k] for k in cols)])
    for g in GROUPS:
        for row in data[g]:
            w.writerow([g, _cell(redact(row["key"])), *(row[k] for k in cols)])
    return buf.getvalue()
