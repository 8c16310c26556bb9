"""The conversation store's Core statements for appending turns (every customer message's path), built once.

A statement object built once keeps its compiled form and cache key, so running it costs only the
driver call and parameter processing. Building the same statement per call (or going through the
ORM's unit of work) cost about 1 ms of CPU per message on the reference machine, on the same two
cores Rasa needs (docs/benchmarks.md "Customer channel"). Bound parameters are named `b_*` so they
never collide with the column names an UPDATE's SET clause takes from its parameters.
"""

from __future__ import annotations

from sqlalchemy import bindparam, case, func, insert, or_, select, update

from core.store.models import Conversation, ConversationStatus, Outcome, Turn

TURNS, CONVERSATIONS = Turn.__table__, Conversation.__table__
_c, _t = CONVERSATIONS.c, TURNS.c

# a resend of a message the session already sent (same client_msg_id), with its conversation's status
RESENT_TURN = (select(TURNS, _c.status.label("conversation_status"))
               .join(CONVERSATIONS, _c.id == _t.conversation_id)
               .where(_c.session_id == bindparam("b_session"), _t.client_msg_id == bindparam("b_client_msg_id")))

# the session's open conversation (locked on PostgreSQL until the turn is stored)
OPEN_CONVERSATION = (select(_c.id, _c.status)
                     .where(_c.session_id == bindparam("b_session"), _c.status != ConversationStatus.CLOSED.value)
                     .order_by(_c.started_at.desc()).limit(1).with_for_update())

NEW_CONVERSATION = insert(CONVERSATIONS)
CONVERSATION_STATUS = select(_c.status).where(_c.id == bindparam("b_conversation"))
CONVERSATION_FOR_UPDATE = select(_c.meta, _c.outcome).where(_c.id == bindparam("b_conversation")).with_for_update()
NEW_TURN = insert(TURNS)

# SET columns come from the parameters (last_activity_at, ...): taking the conversation row's lock first
TOUCH_CONVERSATION = update(CONVERSATIONS).where(_c.id == bindparam("b_conversation"))

# the same, answered by the bot: outcome answered/fallback unless decided otherwise (handed off),
# and the conversation's lowest NLU confidence so far (`==`s, not an IN list, whose "expanding"
# parameter SQLAlchemy renders again on every execution)
_conf = bindparam("b_confidence", type_=_c.min_confidence.type)
ANSWERED_CONVERSATION = TOUCH_CONVERSATION.values(
    outcome=case((or_(_c.outcome.is_(None), _c.outcome == Outcome.FALLBACK.value,
                      _c.outcome == Outcome.ABANDONED.value),
                  bindparam("b_outcome", type_=_c.outcome.type)), else_=_c.outcome),
    min_confidence=case((or_(_c.min_confidence.is_(None), _c.min_confidence > _conf), _conf),
                        else_=_c.min_confidence),
)

# the secrets the bot's latest turns ask for (their `secret_input`), newest first, up to the last customer turn
LATEST_TURNS = (select(_t.speaker, _t.secret_input).where(_t.conversation_id == bindparam("b_conversation"))
                .order_by(_t.seq.desc()).limit(5))

# the languages of a conversation's messages, counted per speaker, in the order they first appeared. Only the
# conversation in WHERE: with `speaker = 'customer'` there SQLite chose the (speaker, confidence) index and read
# every customer turn of the database for each message (~10 ms at 7,000 turns, holding the write lock); the
# caller keeps the customer rows with a language
LANGUAGE_COUNTS = (select(_t.speaker, _t.language, func.count(), func.min(_t.seq))
                   .where(_t.conversation_id == bindparam("b_conversation"))
                   .group_by(_t.speaker, _t.language))
SET_LANGUAGE = (update(CONVERSATIONS).where(_c.id == bindparam("b_conversation"))
                .values(language=bindparam("b_language", type_=_c.language.type)))

NEXT_SEQ = select(func.coalesce(func.max(_t.seq), -1) + 1).where(_t.conversation_id == bindparam("b_conversation"))

# SET columns (answered, intent, confidence, entities) come from the parameters
UPDATE_TURN = update(TURNS).where(_t.id == bindparam("b_turn"))
