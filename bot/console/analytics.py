"""Dashboard numbers over a date range, computed in SQL (grouped per day) so they stay cheap on
large stores: conversations per day, containment, handoff and fallback rates, CSAT, thumbs and
top intents. Unanswered-question clusters live in bot/console/unanswered.py. Every query counts
customer traffic only (listing.customer_traffic: no rate-limited, invalid or load-generator sessions)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy import case, func, select

from bot.answer_source import SOURCES
from bot.console.listing import customer_traffic, customer_turns, day_start, fell_back, handed_off
from core.store.models import Conversation, Speaker, Turn


@dataclass(frozen=True)
class DateRange:
    start: dt.date
    end: dt.date  # inclusive

    @classmethod
    def last_days(cls, days: int = 30, today: dt.date | None = None) -> DateRange:
        today = today or dt.datetime.now(dt.UTC).date()
        return cls(today - dt.timedelta(days=days - 1), today)

    @property
    def lo(self) -> dt.datetime:
        return day_start(self.start)

    @property
    def hi(self) -> dt.datetime:
        return day_start(self.end + dt.timedelta(days=1))

    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def daily(db, rng: DateRange, settings) -> list[dict]:
    """One row per day of the range (days without conversations included, as zeros)."""
    c = Conversation
    handed, fallback = handed_off(), fell_back()
    day = func.date(c.started_at)
    q = (select(day.label("day"), func.count().label("conversations"),
                func.sum(case((handed, 1), else_=0)).label("handed_off"),
                func.sum(case((fallback, 1), else_=0)).label("fallback"),
                func.sum(case((c.csat.is_not(None), 1), else_=0)).label("csat_n"),
                func.sum(func.coalesce(c.csat, 0)).label("csat_sum"),
                func.sum(case((c.csat <= settings.console_low_csat, 1), else_=0)).label("csat_low"))
         .where(c.started_at >= rng.lo, c.started_at < rng.hi, customer_traffic()).group_by(day))
    t_day = func.date(Turn.created_at)
    thumbs = (select(t_day.label("day"), func.sum(case((Turn.feedback > 0, 1), else_=0)),
                     func.sum(case((Turn.feedback < 0, 1), else_=0)))
              .where(Turn.created_at >= rng.lo, Turn.created_at < rng.hi, Turn.feedback.is_not(None), customer_turns())
              .group_by(t_day))
    with db.session() as s:
        rows = {str(r.day)[:10]: r for r in s.execute(q)}
        votes = {str(d)[:10]: (int(up or 0), int(down or 0)) for d, up, down in s.execute(thumbs)}
    out = []
    for d in rng.days():
        r, (up, down) = rows.get(d.isoformat()), votes.get(d.isoformat(), (0, 0))
        n = int(r.conversations) if r else 0
        out.append({"day": d.isoformat(), "conversations": n,
                    "handed_off": int(r.handed_off or 0) if r else 0, "fallback": int(r.fallback or 0) if r else 0,
                    "csat_n": int(r.csat_n or 0) if r else 0, "csat_sum": int(r.csat_sum or 0) if r else 0,
                    "csat_low": int(r.csat_low or 0) if r else 0, "thumbs_up": up, "thumbs_down": down})
    return out


def summary(days: list[dict]) -> dict:
    """Totals and rates over the daily rows (containment = conversations with no human involved)."""
    tot = {k: sum(d[k] for d in days) for k in
           ("conversations", "handed_off", "fallback", "csat_n", "csat_sum", "csat_low", "thumbs_up", "thumbs_down")}
    n = tot["conversations"]
    return {**tot,
            "containment": _rate(n - tot["handed_off"], n), "handoff_rate": _rate(tot["handed_off"], n),
            "fallback_rate": _rate(tot["fallback"], n),
            "csat_avg": round(tot["csat_sum"] / tot["csat_n"], 2) if tot["csat_n"] else None,
            "thumbs_down_rate": _rate(tot["thumbs_down"], tot["thumbs_up"] + tot["thumbs_down"])}


def csat_distribution(db, rng: DateRange) -> dict[int, int]:
    c = Conversation
    with db.session() as s:
        got = dict(s.execute(select(c.csat, func.count()).where(
            c.started_at >= rng.lo, c.started_at < rng.hi, c.csat.is_not(None), customer_traffic())
            .group_by(c.csat)).all())
    return {score: int(got.get(score, 0)) for score in range(1, 6)}


def top_intents(db, rng: DateRange, limit: int = 10) -> list[dict]:
    q = (select(Turn.intent, func.count().label("n"))
         .where(Turn.speaker == Speaker.CUSTOMER.value, Turn.intent.is_not(None),
                Turn.created_at >= rng.lo, Turn.created_at < rng.hi, customer_turns())
         .group_by(Turn.intent).order_by(func.count().desc(), Turn.intent).limit(limit))
    with db.session() as s:
        return [{"intent": i, "count": int(n)} for i, n in s.execute(q)]


def answers_by_source(db, rng: DateRange) -> dict[str, int]:
    """How many answers each source gave (bot/answer_source.py), every source listed."""
    q = (select(Turn.answer_source, func.count())
         .where(Turn.answer_source.is_not(None), Turn.created_at >= rng.lo, Turn.created_at < rng.hi,
                customer_turns())
         .group_by(Turn.answer_source))
    with db.session() as s:
        got = dict(s.execute(q).all())
    return {source: int(got.get(source, 0)) for source in SOURCES}


def to_csv(days: list[dict], intents: list[dict], clusters: list[dict]) -> str:
    """The dashboard as one CSV: a daily table, then intents, then unanswered clusters."""
    buf = io.StringIO()
    w = csv.writer(buf)
    cols = ["day", "conversations", "handed_off", "fallback", "csat_n", "csat_sum", "csat_low",
            "thumbs_up", "thumbs_down"]
    w.writerow(["section"] + cols)
    for d in days:
        w.writerow(["daily"] + [d[k] for k in cols])
    w.writerow([])
    w.writerow(["section", "intent", "count"])
    for i in intents:
        w.writerow(["intent", _cell(i["intent"]), i["count"]])
    w.writerow([])
    w.writerow(["section", "question", "count", "examples"])
    for c in clusters:
        w.writerow(["unanswered", _cell(c["label"]), c["count"], _cell(" | ".join(c["examples"]))])
    return buf.getvalue()


def _cell(value: str) -> str:
    """Customer text must not become a spreadsheet formula when the CSV is opened (CSV injection)."""
    value = value or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
