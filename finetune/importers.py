"""Reading conversation logs from the three places they live: JSONL files, our store, Rasa's tracker store.

Every reader returns the same plain shape — `{"conversation_id", "source", "turns": [{"speaker",
"text", "ts"}]}` with speakers `customer`, `agent` or `bot` — plus the lines (or rows) it could not use,
each with its number and why, so one broken line never costs the rest of the file.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finetune.errors import LogSourceError

# Speaker names we accept, mapped to ours. `user` is Rasa's and many exporters' word for the customer.
SPEAKERS = {"customer": "customer", "user": "customer", "agent": "agent", "bot": "bot"}
MAX_LINE_BYTES = 5_000_000


@dataclass
class ImportResult:
    """Conversations read from one source, and what was wrong with the rest."""

    source: str
    conversations: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # {"line": n, "error": "..."}
    before_since: int = 0  # conversations left out because nothing in them is newer than --since
    undated: int = 0  # conversations without any timestamp (kept: we cannot tell their age)

    def report(self) -> dict:
        return {
            "source": self.source,
            "conversations": len(self.conversations),
            "turns": sum(len(c["turns"]) for c in self.conversations),
            "malformed": len(self.errors),
            "errors": self.errors[:100],
            "before_since": self.before_since,
            "undated": self.undated,
        }


def parse_since(value: str | dt.datetime | None) -> dt.datetime | None:
    """`--since` as an aware UTC datetime: accepts `2024-05-01`, `2024-05-01T12:00`, with or without offset."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        d = value
    else:
        try:
            d = dt.datetime.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise LogSourceError(f"--since {value!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM") from exc
    return d if d.tzinfo else d.replace(tzinfo=dt.UTC)


def to_epoch(ts: Any) -> float | None:
    """A turn timestamp (epoch seconds, or an ISO string, or a datetime) as epoch seconds."""
    if ts is None or isinstance(ts, bool):
        return None
    if isinstance(ts, (int, float)):
        return float(ts)
    if isinstance(ts, dt.datetime):
        return (ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)).timestamp()
    if isinstance(ts, str):
        try:
            return float(ts)
        except ValueError:
            pass
        try:
            return to_epoch(dt.datetime.fromisoformat(ts.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def parse_conversation(obj: Any, default_id: str, source: str) -> dict:
    """Validate one decoded JSON line; raises ValueError saying what is wrong with it."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    turns = obj.get("turns")
    if not isinstance(turns, list):
        raise ValueError('missing "turns" (a list of {"speaker", "text"} objects)')
    out_turns = []
    for i, t in enumerate(turns, start=1):
        if not isinstance(t, dict):
            raise ValueError(f"turn {i} is not an object")
        speaker = SPEAKERS.get(str(t.get("speaker", "")).lower())
        if speaker is None:
            raise ValueError(f"turn {i} has speaker {t.get('speaker')!r}; use customer, agent or bot")
        text = t.get("text")
        if not isinstance(text, str):
            raise ValueError(f'turn {i} has no "text" string')
        out_turns.append({"speaker": speaker, "text": text, "ts": to_epoch(t.get("ts"))})
    cid = obj.get("conversation_id")
    if cid is not None and not isinstance(cid, (str, int)):
        raise ValueError('"conversation_id" must be a string or a number')
    return {"conversation_id": str(cid) if cid is not None else default_id, "source": source, "turns": out_turns}


def _keep(conv: dict, since_epoch: float | None, result: ImportResult) -> bool:
    stamps = [t["ts"] for t in conv["turns"] if t["ts"] is not None]
    if not stamps:
        result.undated += 1
        return True
    if since_epoch is not None and max(stamps) < since_epoch:
        result.before_since += 1
        return False
    return True


def read_jsonl(path: Path | str, since: str | dt.datetime | None = None) -> ImportResult:
    """One conversation per line; malformed lines are reported by number and skipped, the rest kept."""
    path = Path(path)
    if not path.is_file():
        raise LogSourceError(f"no log file at {path}: pass the path of a JSONL file, one conversation per line")
    since_dt = parse_since(since)
    since_epoch = since_dt.timestamp() if since_dt else None
    result = ImportResult(source=str(path))
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                if len(raw) > MAX_LINE_BYTES:
                    raise ValueError(f"line is {len(raw):,} bytes, over the {MAX_LINE_BYTES:,} limit")
                try:
                    obj = json.loads(raw.decode("utf-8"))
                except UnicodeDecodeError as exc:
                    raise ValueError(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
                except json.JSONDecodeError as exc:
                    raise ValueError(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
                conv = parse_conversation(obj, f"{path.stem}:{lineno}", "jsonl")
            except ValueError as exc:
                result.errors.append({"line": lineno, "error": str(exc)})
                continue
            if _keep(conv, since_epoch, result):
                result.conversations.append(conv)
    return result


def read_store(db_url: str, since: str | dt.datetime | None = None) -> ImportResult:
    """Conversations from our own store; an agent's reply correction replaces the bot turn it corrects.

    Agent turns (human mode) are kept as they are: they become training pairs. One sent from a
    console suggestion carries `"label"`: `confirmed` (accepted unchanged) or `correction` (edited)."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import selectinload

    from core.store.db import Database
    from core.store.models import Conversation, Correction, Turn

    since_dt = parse_since(since)
    result = ImportResult(source="store")
    db = Database(db_url)
    try:
        with db.session() as s:
            q = select(Conversation).options(selectinload(Conversation.turns)).order_by(Conversation.started_at)
            if since_dt is not None:
                q = q.where(Conversation.last_activity_at >= _db_time(since_dt, db_url))
            convs = s.scalars(q).all()
            fixes = {
                c.turn_id: c.value
                for c in s.scalars(
                    select(Correction).join(Turn).where(Correction.kind == "reply").order_by(Correction.created_at)
                )
            }
            labels = assist_labels(s)
    except SQLAlchemyError as exc:
        raise LogSourceError(f"cannot read conversations from the store ({exc.__class__.__name__}: {exc}); "
                             "check DATABASE_URL and run `supportbot train` to migrate it") from exc
    finally:
        db.dispose()
    for conv in convs:
        turns = []
        for t in conv.turns:
            if t.speaker not in SPEAKERS:  # system notes are not dialogue
                continue
            text, speaker = (fixes[t.id], "agent") if t.id in fixes else (t.text or "", t.speaker)
            turn = {"speaker": speaker, "text": text, "ts": to_epoch(t.created_at)}
            if t.id in labels:
                turn["label"] = labels[t.id]
            turns.append(turn)
        result.conversations.append({"conversation_id": conv.id, "source": "store", "turns": turns})
    return result


def assist_labels(s) -> dict[int, str]:
    """Agent turns sent from a console suggestion: `confirmed` (sent unchanged) or `correction` (edited)."""
    from sqlalchemy import select

    from core.store.models import AssistSuggestion

    rows = s.execute(select(AssistSuggestion.turn_id, AssistSuggestion.outcome)
                     .where(AssistSuggestion.turn_id.is_not(None),
                            AssistSuggestion.outcome.in_(("accepted", "edited")))).all()
    return {tid: "confirmed" if outcome == "accepted" else "correction" for tid, outcome in rows}


def _db_time(d: dt.datetime, url: str) -> dt.datetime:
    """SQLite keeps naive UTC datetimes; PostgreSQL compares aware ones."""
    return d.astimezone(dt.UTC).replace(tzinfo=None) if url.startswith("sqlite") else d


def read_tracker_store(url: str, since: str | dt.datetime | None = None) -> ImportResult:
    """Rasa's SQL tracker store (table `events`): user and bot utterances grouped by sender id.

    Rows whose `data` is not valid JSON are reported by event id, like malformed file lines.
    """
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from core.store.db import make_engine

    since_dt = parse_since(since)
    result = ImportResult(source="tracker")
    sql = ("SELECT id, sender_id, type_name, timestamp, data FROM events "
           "WHERE type_name IN ('user', 'bot')" + (" AND timestamp >= :since" if since_dt else "")
           + " ORDER BY sender_id, id")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(sql), {"since": since_dt.timestamp()} if since_dt else {}).all()
    except SQLAlchemyError as exc:
        raise LogSourceError(f"cannot read Rasa's tracker store at {url.split('@')[-1]} "
                             f"({exc.__class__.__name__}): point --tracker-url at the database Rasa's "
                             "endpoints.yml `tracker_store` uses") from exc
    finally:
        engine.dispose()
    by_sender: dict[str, list[dict]] = {}
    for row_id, sender, type_name, ts, data in rows:
        try:
            event = json.loads(data) if isinstance(data, str) else data
            text_ = event.get("text") if isinstance(event, dict) else None
        except json.JSONDecodeError as exc:
            result.errors.append({"line": row_id, "error": f"event {row_id}: data is not JSON ({exc.msg})"})
            continue
        if not text_:  # a bot event carrying only buttons or a custom payload
            continue
        speaker = "customer" if type_name == "user" else "bot"
        by_sender.setdefault(sender, []).append({"speaker": speaker, "text": text_, "ts": to_epoch(ts)})
    for sender, turns in by_sender.items():
        result.conversations.append({"conversation_id": sender, "source": "tracker", "turns": turns})
    return result
