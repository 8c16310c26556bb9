"""Knowledge gaps: the questions the bot could not answer, clustered, each with a draft KB article outline.

A customer question is a gap when the NLU fell back or found it out of scope, the service could not get
an answer (`answered` false), or the bot's reply to it was a fallback (`answer_source`, so also "I'm not
sure" after a weak KB search) — customer traffic only (bot/traffic.py), the most recent
`console_unanswered_limit` in the range. They are embedded with retrieval's Encoder (loaded on the first
view, shared with the dashboard's clusters) and grouped by unanswered.group at `gap_cluster_similarity`.
Each gap lists how many distinct customers asked (verified user, else session), examples, and
`outline(gap)`: a markdown draft in data/kb/'s format (front matter, a title from the most typical
question, the questions the article must answer) that an admin copies into `data/kb/<slug>.md`, writes,
and ingests with `supportbot kb ingest`. Texts are masked by the caller before they reach a page.
"""

from __future__ import annotations

import re

import numpy as np
from sqlalchemy import or_, select

from bot.console.listing import customer_turns
from bot.console.unanswered import UNANSWERED_INTENTS, UnansweredClusters, group
from core.store.models import Conversation, Speaker, Turn

SLUG = re.compile(r"[^a-z0-9]+")


def gap_questions(db, rng, limit: int) -> list[tuple[int, str, str]]:
    """(turn id, conversation id, text) of the customer questions the bot could not answer, newest first."""
    t = Turn
    in_range = (t.created_at >= rng.lo, t.created_at < rng.hi, customer_turns())
    with db.session() as s:
        fallback_replies = s.execute(select(t.conversation_id, t.seq).where(
            t.answer_source == "fallback", t.speaker.in_((Speaker.BOT.value, Speaker.SYSTEM.value)), *in_range)
            .order_by(t.created_at.desc()).limit(limit)).all()
        direct = s.execute(select(t.id, t.conversation_id, t.text, t.created_at).where(
            t.speaker == Speaker.CUSTOMER.value, *in_range,
            or_(t.intent.in_(UNANSWERED_INTENTS), t.answered.is_(False))).order_by(t.created_at.desc()).limit(limit)).all()
        convs = sorted({conv for conv, _seq in fallback_replies})
        asked: dict[str, list] = {}
        for start in range(0, len(convs), 500):
            for r in s.execute(select(t.id, t.conversation_id, t.text, t.created_at, t.seq).where(
                    t.speaker == Speaker.CUSTOMER.value, t.conversation_id.in_(convs[start:start + 500]))
                    .order_by(t.seq)):
                asked.setdefault(r.conversation_id, []).append(r)
    before = {}  # the customer turn right before each fallback reply
    for conv, seq in fallback_replies:
        earlier = [r for r in asked.get(conv, []) if r.seq < seq]
        if earlier:
            before[earlier[-1].id] = earlier[-1]
    rows = {r.id: r for r in [*direct, *before.values()] if r.text and r.text.strip()}
    ordered = sorted(rows.values(), key=lambda r: r.created_at, reverse=True)[:limit]
    return [(r.id, r.conversation_id, r.text) for r in ordered]


def customers_of(db, conversation_ids: list[str]) -> dict[str, str]:
    with db.session() as s:
        rows = s.execute(select(Conversation.id, Conversation.verified_user_id, Conversation.session_id)
                         .where(Conversation.id.in_(conversation_ids))).all() if conversation_ids else []
    return {cid: user or session for cid, user, session in rows}


class KnowledgeGaps(UnansweredClusters):
    """The dashboard clusterer's encoder, lock and cache, over the gap questions."""

    def gaps(self, rng, top: int = 20) -> list[dict]:
        rows = gap_questions(self.db, rng, self.settings.console_unanswered_limit)
        if not rows:
            return []
        key = (rng.start, rng.end, len(rows), max(r[0] for r in rows))
        with self._lock:
            if key not in self._cache:
                vectors = np.asarray(self.encoder().encode([text for _, _, text in rows]), dtype=np.float32)
                clusters = group(rows, vectors, self.settings.gap_cluster_similarity,
                                 customers_of(self.db, list({conv for _, conv, _ in rows})))
                clusters.sort(key=lambda c: (-c["customers"], -c["count"], c["label"]))
                self._cache = {key: clusters}
            return self._cache[key][:top]


def title_of(question: str) -> str:
    text = " ".join(question.split()).strip(" ?!.")
    return (text[:1].upper() + text[1:])[:90] or "Untitled"


def slug_of(title: str) -> str:
    return SLUG.sub("_", title.lower()).strip("_")[:60] or "draft"


def outline(gap: dict) -> str:
    """A draft article in data/kb/'s format for one gap (title from its most typical question)."""
    title = title_of(gap["label"])
    questions = "\n".join(f"- {q.strip()}" for q in gap.get("questions") or gap["examples"])
    return (f'---\ntitle: "{title.replace(chr(34), chr(39))}"\nurl: \ntopic: "{slug_of(title)}"\ncategory: \n---\n\n'
            f"# {title}\n\n<!-- Asked by {gap.get('customers', gap['count'])} customers ({gap['count']} times). "
            f"Answer every question below in plain words, then run `supportbot kb ingest data/kb/{slug_of(title)}.md`. -->\n\n"
            f"Questions this article must answer:\n{questions}\n")
