"""The record of reply suggestions: every one shown to an agent, and whether it was accepted, edited or ignored.

Invariants: a suggestion row is written when the panel is served (so "shown" never depends on the
browser reporting it); each row gets exactly one outcome, once. Showing a new batch in a
conversation marks the earlier, still open ones `ignored`; sending a reply resolves the open batch:
the chosen suggestion is `accepted` when the text sent equals what was shown (after whitespace),
`edited` otherwise (with the final text), and the others `ignored`.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update

from core.store.base import utcnow
from core.store.models import AssistSuggestion, Conversation, Turn

OUTCOMES = ("accepted", "edited", "ignored")


def record_shown(db, conversation_id: str, user_id: int | None, replies: list[dict],
                 model_version: str | None) -> tuple[str, list[int]]:
    """Store one panel refresh; returns (batch id, suggestion ids in rank order)."""
    batch = uuid.uuid4().hex
    with db.session() as s, s.begin():
        _ignore_open(s, conversation_id)
        rows = [AssistSuggestion(conversation_id=conversation_id, user_id=user_id, batch=batch, rank=r["rank"],
                                 template=r["template"], text=r["text"], score=r.get("score"),
                                 model_version=model_version) for r in replies]
        s.add_all(rows)
        s.flush()
        return batch, [row.id for row in rows]


def _ignore_open(s, conversation_id: str, batch: str | None = None) -> None:
    q = update(AssistSuggestion).where(AssistSuggestion.conversation_id == conversation_id,
                                       AssistSuggestion.outcome.is_(None))
    if batch is not None:
        q = q.where(AssistSuggestion.batch == batch)
    s.execute(q.values(outcome="ignored", resolved_at=utcnow()))


def _same(a: str, b: str) -> bool:
    return " ".join((a or "").split()) == " ".join((b or "").split())


def resolve(db, conversation_id: str, batch: str, chosen_id: int | None, final_text: str,
            turn_id: int | None) -> dict:
    """A reply was sent while `batch` was on screen: record each suggestion's outcome.

    `turn_id`, when given, must be an agent turn of this conversation (it links the suggestion to
    the training pair it became). Already resolved suggestions are left as they are."""
    with db.session() as s, s.begin():
        if s.get(Conversation, conversation_id) is None:
            raise LookupError(f"No conversation {conversation_id!r}.")
        if turn_id is not None:
            turn = s.get(Turn, turn_id)
            if turn is None or turn.conversation_id != conversation_id or turn.speaker != "agent":
                raise ValueError(f"turn {turn_id} is not an agent reply in conversation {conversation_id!r}")
        rows = s.scalars(select(AssistSuggestion).where(AssistSuggestion.conversation_id == conversation_id,
                                                        AssistSuggestion.batch == batch)
                         .order_by(AssistSuggestion.rank)).all()
        if not rows:
            raise LookupError(f"No suggestions {batch!r} were shown in conversation {conversation_id!r}.")
        if chosen_id is not None and chosen_id not in {r.id for r in rows}:
            raise ValueError(f"suggestion {chosen_id} was not part of batch {batch!r}")
        now, outcomes = utcnow(), {}
        for row in rows:
            if row.outcome is not None:
                outcomes[row.id] = row.outcome
                continue
            if row.id == chosen_id:
                row.outcome = "accepted" if _same(row.text, final_text) else "edited"
                row.final_text = final_text
                row.turn_id = turn_id
            else:
                row.outcome = "ignored"
            row.resolved_at = now
            outcomes[row.id] = row.outcome
        return {"batch": batch, "outcomes": outcomes}


def summary(db, conversation_id: str | None = None) -> dict:
    """Counts per outcome (open ones as `shown`), for reports and tests."""
    with db.session() as s:
        q = select(AssistSuggestion.outcome)
        if conversation_id is not None:
            q = q.where(AssistSuggestion.conversation_id == conversation_id)
        counts = {"shown": 0, **{o: 0 for o in OUTCOMES}}
        for (outcome,) in s.execute(q):
            counts["shown"] += 1
            if outcome:
                counts[outcome] += 1
        return counts
