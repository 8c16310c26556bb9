"""The console's conversation list: every filter of the issue as one indexed, keyset-paged query.

Paging is by (started_at, id) descending with an opaque cursor, so page 2,000 costs what page 1
costs. Full-text search uses the store's text index: FTS5 on SQLite, a GIN tsvector index on
PostgreSQL (both created by the console migration). docs/benchmarks.md ("Console") has the
plans and timings on 100,000 conversations (`python -m bench.console_list`).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import and_, func, literal_column, or_, select, text
from sqlalchemy.sql import Select

from bot.console.errors import BadRequest
from bot.console.takeover import handoff_why
from core.store.base import utcnow
from core.store.models import Conversation, ConversationStatus, Outcome, Speaker, Turn

STATUSES = ("live", "waiting", "human", "closed", "bot")
OUTCOMES = tuple(o.value for o in Outcome)
WORD = re.compile(r"\w+", re.UNICODE)
FALLBACK_INTENT = "nlu_fallback"
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")
LANGUAGES = (("en", "English"), ("zh", "Chinese"))  # the filter's choices (any stored code is accepted)


@dataclass
class ListFilters:
    status: str = ""
    outcome: str = ""
    low_confidence: bool = False
    negative: bool = False  # thumbs-down or low CSAT
    fallback: bool = False  # the NLU fell back at least once, or the outcome is fallback
    contained: bool = False  # no human involved
    customers: bool = False  # customer traffic only (what the analytics count; bot/traffic.py)
    handed_off: bool = False  # a human was asked for or took part
    date_from: dt.date | None = None
    date_to: dt.date | None = None  # inclusive
    intent: str = ""
    language: str = ""  # the conversation's language (ISO 639-1 code, e.g. zh)
    q: str = ""
    ids: list[str] = field(default_factory=list)
    cursor: str = ""

    @classmethod
    def parse(cls, params: Any) -> ListFilters:
        """From query parameters; bad values raise BadRequest with what to fix."""
        def flag(name: str) -> bool:
            return str(params.get(name, "")).lower() in ("1", "true", "on", "yes")

        def day(name: str) -> dt.date | None:
            raw = (params.get(name) or "").strip()
            try:
                return dt.date.fromisoformat(raw) if raw else None
            except ValueError:
                raise BadRequest(f"{name} must be a date like 2026-01-31, not {raw!r}.") from None

        f = cls(status=(params.get("status") or "").strip(), outcome=(params.get("outcome") or "").strip(),
                low_confidence=flag("low_confidence"), negative=flag("negative"),
                fallback=flag("fallback"), contained=flag("contained"), handed_off=flag("handed_off"),
                customers=flag("customers"),
                date_from=day("date_from"), date_to=day("date_to"),
                intent=(params.get("intent") or "").strip()[:128],
                language=(params.get("language") or "").strip().lower(), q=(params.get("q") or "").strip()[:200],
                ids=[i for i in (params.get("ids") or "").split(",") if i][:200],
                cursor=(params.get("cursor") or "").strip())
        if f.status and f.status not in STATUSES:
            raise BadRequest(f"status must be one of {', '.join(STATUSES)}.")
        if f.outcome and f.outcome not in OUTCOMES:
            raise BadRequest(f"outcome must be one of {', '.join(OUTCOMES)}.")
        if f.language and not LANGUAGE_CODE.fullmatch(f.language):
            raise BadRequest("language must be a language code such as en or zh.")
        if f.date_from and f.date_to and f.date_from > f.date_to:
            raise BadRequest("The start date is after the end date.")
        return f

    def query_params(self, **override: Any) -> dict[str, str]:
        """Non-empty filters as query parameters (for links: next page, click-through)."""
        out: dict[str, str] = {}
        for key, value in {**asdict(self), **override}.items():
            if value in (None, "", False, []):
                continue
            out[key] = ",".join(value) if isinstance(value, list) else ("1" if value is True else str(value))
        return out


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def encode_cursor(started_at: dt.datetime, conv_id: str) -> str:
    return base64.urlsafe_b64encode(f"{started_at.isoformat()}|{conv_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        stamp, conv_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return dt.datetime.fromisoformat(stamp), conv_id
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("That page link is damaged; go back to the first page.") from None


def text_match(dialect: str, q: str):
    """A condition on Turn matching every word of `q`, through the dialect's text index."""
    words = WORD.findall(q)
    if not words:
        return None
    if dialect == "sqlite":
        match = " ".join('"' + w.replace('"', "") + '"' for w in words)
        rowids = text("SELECT rowid FROM turns_fts WHERE turns_fts MATCH :fts").bindparams(fts=match)
        return Turn.id.in_(rowids)
    if dialect == "postgresql":
        vector = func.to_tsvector(literal_column("'simple'"), Turn.text)
        return vector.op("@@")(func.plainto_tsquery(literal_column("'simple'"), " ".join(words)))
    return and_(*(Turn.text.ilike(f"%{w}%") for w in words))


def handed_off():
    """A human was (or is being) involved: the condition behind handoff rate and containment."""
    c = Conversation
    return or_(and_(c.outcome.is_not(None), c.outcome == Outcome.HANDED_OFF.value),  # NULL-safe under NOT
               c.status.in_((ConversationStatus.WAITING.value, ConversationStatus.HUMAN.value)))


def customer_traffic():
    """Conversations that are a customer's: not marked as rate-limited, invalid or a load generator's
    (bot/traffic.py). Every analytics query applies it."""
    return Conversation.excluded.is_(None)


def customer_turns():
    """The same condition for turn queries."""
    return Turn.conversation_id.not_in(select(Conversation.id).where(Conversation.excluded.is_not(None)))


def fell_back():
    c = Conversation
    return or_(and_(c.outcome.is_not(None), c.outcome == Outcome.FALLBACK.value),
               c.id.in_(select(Turn.conversation_id).where(Turn.intent == FALLBACK_INTENT)))


def build_query(f: ListFilters, settings, dialect: str) -> Select:
    c = Conversation
    where = []
    if f.status == "live":
        since = utcnow() - dt.timedelta(minutes=settings.console_live_minutes)
        where += [c.status == ConversationStatus.BOT.value, c.last_activity_at >= since]
    elif f.status:
        where.append(c.status == f.status)
    if f.outcome:
        where.append(c.outcome == f.outcome)
    if f.low_confidence:
        where.append(c.min_confidence < settings.console_low_confidence)
    if f.negative:
        where.append(or_(c.has_negative_feedback.is_(True), c.csat <= settings.console_low_csat))
    if f.fallback:
        where.append(fell_back())
    if f.contained:
        where.append(~handed_off())
    if f.handed_off:
        where.append(handed_off())
    if f.customers:
        where.append(customer_traffic())
    if f.date_from:
        where.append(c.started_at >= day_start(f.date_from))
    if f.date_to:
        where.append(c.started_at < day_start(f.date_to + dt.timedelta(days=1)))
    if f.language:
        where.append(c.language == f.language)
    if f.intent:
        where.append(c.id.in_(select(Turn.conversation_id).where(Turn.intent == f.intent)))
    if f.q:
        match = text_match(dialect, f.q)
        if match is not None:
            where.append(c.id.in_(select(Turn.conversation_id).where(match)))
    if f.ids:
        where.append(c.id.in_(f.ids))
    if f.cursor:
        at, cid = decode_cursor(f.cursor)
        # the `<=` gives both planners an index range on started_at; the OR settles ties by id
        where += [c.started_at <= at, or_(c.started_at < at, c.id < cid)]
    return select(c).where(*where).order_by(c.started_at.desc(), c.id.desc())


def list_conversations(db, f: ListFilters, settings, page_size: int | None = None, mask=None) -> dict:
    """One page: {"items": [...], "next_cursor": str | None}; items are plain dicts. `mask` (a text ->
    text function, privacy.masking) is applied to each preview before it is shortened."""
    size = page_size or settings.console_page_size
    query = build_query(f, settings, db.engine.dialect.name).limit(size + 1)
    with db.session() as s:
        convs = s.scalars(query).all()
        more = len(convs) > size
        convs = convs[:size]
        previews = _previews(s, [cv.id for cv in convs])
        items = [_row(cv, previews.get(cv.id, ("", 0))) for cv in convs]
    next_cursor = encode_cursor(convs[-1].started_at, convs[-1].id) if more and convs else None
    return {"items": _shorten(items, mask), "next_cursor": next_cursor}


def _previews(s, ids: list[str]) -> dict[str, tuple[str, int]]:
    """First customer message and number of turns of each conversation on the page."""
    if not ids:
        return {}
    counts = dict(s.execute(select(Turn.conversation_id, func.count()).where(Turn.conversation_id.in_(ids))
                            .group_by(Turn.conversation_id)).all())
    first = (select(Turn.conversation_id, func.min(Turn.seq).label("seq"))
             .where(Turn.conversation_id.in_(ids), Turn.speaker == Speaker.CUSTOMER.value)
             .group_by(Turn.conversation_id).subquery())
    texts = dict(s.execute(select(Turn.conversation_id, Turn.text).join(
        first, and_(Turn.conversation_id == first.c.conversation_id, Turn.seq == first.c.seq))).all())
    return {cid: (texts.get(cid, ""), counts.get(cid, 0)) for cid in ids}


def _row(cv: Conversation, preview: tuple[str, int]) -> dict:
    return {
        "id": cv.id, "channel": cv.channel, "status": cv.status, "outcome": cv.outcome, "csat": cv.csat,
        "started_at": cv.started_at, "last_activity_at": cv.last_activity_at,
        "min_confidence": cv.min_confidence, "negative": bool(cv.has_negative_feedback),
        "contact": bool(cv.contact), "preview": preview[0], "turns": preview[1], "language": cv.language,
    }


def _shorten(items: list[dict], mask=None) -> list[dict]:
    """Previews masked (outside the database session) and then cut to 160 characters."""
    for item in items:
        item["preview"] = (mask(item["preview"]) if mask else item["preview"])[:160]
    return items


def queue(db, agent_id: int, limit: int = 200, mask=None, now: dt.datetime | None = None) -> dict:
    """The handoff queue: conversations waiting for a human (longest wait first) and the agent's own.
    Each waiting row reads like an inbox: `waiting_since` (when the handoff was asked for), `waited`
    ("3 min"), `why` the bot handed off, the customer's `last_message` and their `verified_user`."""
    c = Conversation
    with db.session() as s:
        waiting = s.scalars(select(c).where(c.status == ConversationStatus.WAITING.value)
                            .order_by(c.last_activity_at, c.id).limit(limit)).all()
        mine = s.scalars(select(c).where(c.status == ConversationStatus.HUMAN.value, c.assigned_agent_id == agent_id)
                         .order_by(c.last_activity_at.desc()).limit(limit)).all()
        previews = _previews(s, [cv.id for cv in [*waiting, *mine]])
        last = _last_customer_messages(s, [cv.id for cv in waiting])
        rows = {"waiting": [_inbox_row(cv, previews.get(cv.id, ("", 0)), last.get(cv.id, ""), now) for cv in waiting],
                "mine": [_row(cv, previews.get(cv.id, ("", 0))) for cv in mine]}
    for row in rows["waiting"]:
        row["last_message"] = (mask(row["last_message"]) if mask else row["last_message"])[:200]
    rows["waiting"].sort(key=lambda r: (r["waiting_since"], r["id"]))
    return {k: _shorten(v, mask) for k, v in rows.items()}


def _inbox_row(cv: Conversation, preview: tuple[str, int], last_message: str, now: dt.datetime | None) -> dict:
    meta = cv.meta or {}
    since = cv.last_activity_at
    if isinstance(meta.get("handoff_at"), str):
        with contextlib.suppress(ValueError):  # a hand-edited meta: the last activity will do
            since = dt.datetime.fromisoformat(meta["handoff_at"])
    since = since if since.tzinfo else since.replace(tzinfo=dt.UTC)
    return {**_row(cv, preview), "waiting_since": since, "waited": waited(since, now or utcnow()),
            "why": handoff_why(meta), "last_message": last_message, "verified_user": cv.verified_user_id}


def _last_customer_messages(s, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    last = (select(Turn.conversation_id, func.max(Turn.seq).label("seq"))
            .where(Turn.conversation_id.in_(ids), Turn.speaker == Speaker.CUSTOMER.value)
            .group_by(Turn.conversation_id).subquery())
    return dict(s.execute(select(Turn.conversation_id, Turn.text).join(
        last, and_(Turn.conversation_id == last.c.conversation_id, Turn.seq == last.c.seq))).all())


def waited(since: dt.datetime, now: dt.datetime) -> str:
    """A wait as people say it: "just now", "3 min", "1 h 5 min", "2 days"."""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return "just now"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days = hours // 24
    return "1 day" if days == 1 else f"{days} days"


def known_intents(db, limit: int = 500) -> list[str]:
    """Intents seen in the store (for the filter and correction pickers); walks the intent index."""
    with db.session() as s:
        return [i for (i,) in s.execute(select(Turn.intent).where(Turn.intent.is_not(None))
                                        .group_by(Turn.intent).order_by(Turn.intent).limit(limit))]
