"""Crash safety: customer messages that were acknowledged but whose answer died with the process.

A customer turn is stored (and acknowledged) before Rasa is asked; the answer, or the "unanswered"
mark, is stored when Rasa replies or fails. A crash, a SIGKILL or a deploy between the two leaves
the turn with `answered` NULL and nothing after it, which no view would ever show again. At start
(the app's lifespan, before it serves) `recover` finds such turns from the last
`recovery_lookback_days` in conversations the bot still has, and

- answers each in the background when it is younger than `recovery_answer_within_s` (Rasa gets the
  same text and turn id; the answer is stored and published on the hub like any late answer), or
- marks it unanswered with a notice, so it appears in the console's unanswered views.

Replicas starting together may both pick a turn; the store's answered flag and the channel's
duplicate handling keep what customers see consistent, and the worst case is one extra answer.
With several replicas (`hub_url` set) a replica that starts leaves alone the turns younger than
`rasa_late_reply_s + rasa_timeout_s`: another, live replica may still be waiting for their answer, and
if their replica died the widget resends them (same `client_msg_id`), which answers them once.
"""

from __future__ import annotations

import datetime as dt
import logging

from core.store.base import utcnow

log = logging.getLogger(__name__)
RECOVERY_NOTICE = ("Sorry, we could not answer this message because of a problem on our side. "
                   "You can send it again, or ask to talk to a person.")


def _aware(ts: dt.datetime) -> dt.datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)


async def recover(services, channel) -> dict:
    """Answer or mark the unfinished turns; returns counts (also logged)."""
    settings = services.settings
    now = utcnow()
    since = now - dt.timedelta(days=settings.recovery_lookback_days)
    try:
        turns = await channel.db(services.store.unfinished_turns, since)
    except Exception as exc:  # noqa: BLE001 - a store that is down at start must not stop the service
        log.warning("crash recovery skipped: %s", exc)
        return {"answered": 0, "marked": 0}
    fresh = dt.timedelta(seconds=settings.recovery_answer_within_s)
    in_flight = dt.timedelta(seconds=settings.rasa_late_reply_s + settings.rasa_timeout_s if settings.hub_url else 0)
    answered = marked = 0
    for turn in turns:
        ts = dt.datetime.fromisoformat(turn["ts"]) if turn.get("ts") else now
        if now - _aware(ts) < in_flight:
            continue  # perhaps still being answered by another replica
        if now - _aware(ts) <= fresh:
            channel.resume(turn)
            answered += 1
        else:
            await channel.db(services.store.record_unanswered, turn["conversation_id"], turn["turn_id"],
                             RECOVERY_NOTICE, "interrupted")
            marked += 1
    if turns:
        log.warning("crash recovery: %d unanswered message(s) sent to Rasa again, %d marked unanswered",
                    answered, marked)
    return {"answered": answered, "marked": marked}
