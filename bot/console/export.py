"""Agents' corrections as training data: Rasa NLU YAML and conversation-log JSONL.

- NLU: each customer turn whose newest correction is an intent (or out-of-scope) becomes an
  example of that intent. The YAML is what `rasa train` reads from data/nlu/.
- Responses: conversations with a corrected bot reply, as `{"conversation_id", "turns": [{"speaker",
  "text", "ts"}]}` lines (finetune.importers.read_jsonl reads them). A corrected reply replaces the
  bot's text and is attributed to `agent` (a person wrote or chose it), the same convention as
  finetune.importers.read_store; the conversation is cut after its last corrected reply, because
  what followed reacted to the wrong answer. `scope="all"` exports every conversation instead.

Every text goes through the PII engine (privacy.conversations.Redactor: e-mails, cards, phones,
names … become placeholders, consistent within a conversation) before it is written: training
data never carries a customer's personal data.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator

from sqlalchemy import select

from core.store.models import Conversation, Correction, Speaker, Turn
from privacy.conversations import Redactor

NLU_KINDS = ("intent", "out_of_scope")
DIALOGUE_SPEAKERS = (Speaker.CUSTOMER.value, Speaker.BOT.value, Speaker.AGENT.value)
SPACE = re.compile(r"\s+")


def latest_corrections(s, kinds: tuple[str, ...], since: dt.datetime | None = None) -> dict[int, Correction]:
    """Newest correction of the given kinds per turn (a later correction overrides an earlier one)."""
    q = select(Correction).where(Correction.kind.in_(kinds)).order_by(Correction.created_at, Correction.id)
    if since is not None:
        q = q.where(Correction.created_at >= since)
    return {c.turn_id: c for c in s.scalars(q)}


def example_text(text: str) -> str:
    """One line, and no accidental entity annotation: Rasa reads `[x](y)` and `[x]{…}` as entities."""
    return SPACE.sub(" ", text).strip().replace("](", "] (").replace("]{", "] {")


def export_nlu(db, since: dt.datetime | None = None) -> tuple[str, dict]:
    """(Rasa NLU YAML, report) from the newest intent/out-of-scope correction of each customer turn."""
    anon = Redactor()
    examples: dict[str, list[str]] = {}
    with db.session() as s:
        fixes = latest_corrections(s, NLU_KINDS, since)
        turns = {t.id: t for t in s.scalars(select(Turn).where(Turn.id.in_(list(fixes))))} if fixes else {}
        previous = _previous_texts(s, turns.values())
        for turn_id, fix in fixes.items():
            turn = turns.get(turn_id)
            if turn is None or turn.speaker != Speaker.CUSTOMER.value:
                continue
            anon.new_conversation()
            text = example_text(anon.text(turn.text or "", previous.get(turn_id)))
            intent = "out_of_scope" if fix.kind == "out_of_scope" else fix.value
            if text and text not in examples.setdefault(intent, []):
                examples[intent].append(text)
    lines = ['version: "3.1"', "nlu:"]
    for intent in sorted(examples):
        lines += [f"- intent: {intent}", "  examples: |"] + [f"    - {e}" for e in examples[intent]]
    report = {"intents": len(examples), "examples": sum(len(v) for v in examples.values()),
              "placeholders": {f"[{k}]": n for k, n in sorted(anon.counts.items()) if n}}
    return "\n".join(lines) + "\n", report


def _previous_texts(s, turns) -> dict[int, str]:
    """The text of the turn before each given turn (the anonymiser uses it to spot names, birthdays)."""
    out = {}
    for t in turns:
        prev = s.scalars(select(Turn.text).where(Turn.conversation_id == t.conversation_id, Turn.seq < t.seq)
                         .order_by(Turn.seq.desc()).limit(1)).first()
        if prev:
            out[t.id] = prev
    return out


def export_responses(db, scope: str = "corrected", since: dt.datetime | None = None,
                     report: dict | None = None) -> Iterator[dict]:
    """Conversation-log records (see the module doc); `report` collects counts as it goes."""
    if scope not in ("corrected", "all"):
        raise ValueError("scope must be 'corrected' or 'all'")
    report = report if report is not None else {}
    report.update(conversations=0, turns=0, corrected_replies=0)
    anon = Redactor()
    with db.session() as s:
        fixes = latest_corrections(s, ("reply",), since)
        if scope == "corrected":
            ids = sorted(set(s.scalars(select(Turn.conversation_id).where(Turn.id.in_(list(fixes))))))
        else:
            q = select(Conversation.id).order_by(Conversation.started_at)
            if since is not None:
                q = q.where(Conversation.last_activity_at >= since)
            ids = list(s.scalars(q))
    for start in range(0, len(ids), 200):
        with db.session() as s:
            batch = s.scalars(select(Turn).where(Turn.conversation_id.in_(ids[start:start + 200]),
                                                 Turn.speaker.in_(DIALOGUE_SPEAKERS))
                              .order_by(Turn.conversation_id, Turn.seq)).all()
        by_conv: dict[str, list[Turn]] = {}
        for t in batch:
            by_conv.setdefault(t.conversation_id, []).append(t)
        for cid in ids[start:start + 200]:
            record = _record(cid, by_conv.get(cid, []), fixes, scope, anon)
            if record is None:
                continue
            report["conversations"] += 1
            report["turns"] += len(record["turns"])
            report["corrected_replies"] += sum(1 for t in record["turns"] if t.get("corrected"))
            yield record
    report["placeholders"] = {f"[{k}]": n for k, n in sorted(anon.counts.items()) if n}


def _record(cid: str, turns: list[Turn], fixes: dict[int, Correction], scope: str, anon: Redactor) -> dict | None:
    anon.new_conversation()
    out, last_fixed, previous = [], -1, None
    for t in turns:
        fix = fixes.get(t.id) if t.speaker == Speaker.BOT.value else None
        raw = fix.value if fix else (t.text or "")
        if not raw.strip():
            continue
        turn = {"speaker": "agent" if fix else t.speaker, "text": anon.text(raw, previous), "ts": _iso(t.created_at)}
        if fix:
            turn["corrected"] = True
            last_fixed = len(out)
        out.append(turn)
        previous = raw
    if scope == "corrected":
        out = out[:last_fixed + 1]
    if not out:
        return None
    return {"conversation_id": cid, "source": "console", "turns": out}


def _iso(ts: dt.datetime | None) -> str | None:
    if ts is None:
        return None
    return (ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)).isoformat()


def write_jsonl(records: Iterator[dict], fh) -> None:
    for record in records:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
