"""Resolution of a conversation: confirmed, assumed or not resolved — one pure function.

The definition (printed on the dashboard as `DEFINITION`):
- **confirmed**: the customer said it helped: a 👍 on an answer, CSAT ≥ 4, or a click on the
  "That solved it" quick reply the bot offers after a KB answer (bot/solved.py);
- **assumed**: the bot answered, nobody handed off, and the same customer did not come back on the
  same topic (the same intent, or the same KB article answered them) within 24 hours of the bot's
  last answer;
- **not resolved**: a handoff (requested, waiting, or an agent spoke), a 👎, the bot's last answer was a
  fallback (a fallback-only conversation, or abandonment after a fallback), or that return.

Invariants: a handoff always means not resolved (a person had to help); otherwise the customer's
latest explicit signal decides (a 👍 after a 👎 confirms, a 👎 after a 👍 does not; CSAT counts as given
at the end); without one, the last answer and the return rule decide. Small-talk intents (`NOT_TOPICS`)
never make two conversations "the same topic". A conversation without a customer turn has no
resolution (None). `classify` reads plain `Conv`/`TurnFacts` values, so it is tested on hand-made
conversations; bot/console/resolution_report.py loads them from the store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

CONFIRMED, ASSUMED, NOT_RESOLVED = "confirmed", "assumed", "not_resolved"
CLASSES = (CONFIRMED, ASSUMED, NOT_RESOLVED)
ANSWER_SOURCES = ("rule", "kb", "learnt")  # answers that are not a fallback
NOT_TOPICS = frozenset({"greet", "goodbye", "thank", "affirm", "deny", "request_human", "bot_challenge",
                        "out_of_scope", "inform", "show_full_article", "nlu_fallback"})
DEFINITION = (
    "Confirmed: the customer said it helped (a thumbs up, CSAT of 4 or 5, or the “That solved it” reply). "
    "Assumed: the bot answered, nobody handed off, and the customer did not come back on the same topic "
    "(same intent or same help article) within {hours:g} hours. Not resolved: handed off, a thumbs down, "
    "or the bot's last answer was a fallback, or the customer came back on the same topic.")


@dataclass(frozen=True)
class TurnFacts:
    speaker: str  # customer | bot | agent | system
    at: dt.datetime
    intent: str | None = None  # customer turns
    answer_source: str | None = None  # bot/system turns: rule | kb | learnt | fallback | agent
    article: str | None = None  # a KB answer's article (its first source's doc_id)
    template: str | None = None  # a learnt reply's template
    feedback: int | None = None  # +1 / -1 on a bot turn
    solved: bool = False  # the customer clicked "That solved it"


@dataclass(frozen=True)
class Conv:
    id: str
    customer: str  # the verified user, else the widget/API session
    started_at: dt.datetime
    turns: tuple[TurnFacts, ...]
    handed_off: bool = False  # outcome handed_off, or status waiting / human
    csat: int | None = None

    def topics(self) -> set[tuple[str, str]]:
        """("intent", name) of its customer turns and ("article", doc_id) of its KB answers."""
        out = {("intent", t.intent) for t in self.turns
               if t.speaker == "customer" and t.intent and t.intent not in NOT_TOPICS}
        return out | {("article", t.article) for t in self.turns if t.article and t.answer_source == "kb"}

    def intents(self) -> list[str]:
        return sorted({i for kind, i in self.topics() if kind == "intent"})

    def articles(self) -> list[str]:
        return sorted({a for kind, a in self.topics() if kind == "article"})

    def templates(self) -> list[str]:
        return sorted({t.template for t in self.turns if t.template and t.answer_source == "learnt"})


@dataclass(frozen=True)
class Verdict:
    resolution: str  # one of CLASSES
    reason: str  # handoff | thumbs_up | thumbs_down | csat | solved_reply | fallback | no_answer | returned | answered
    returned_in: list[str] = field(default_factory=list)  # the later conversations that were the return


def _signal(conv: Conv) -> tuple[str, str] | None:
    """The customer's latest explicit signal: (class, reason), or None."""
    last = None
    for t in conv.turns:
        if t.solved:
            last = (CONFIRMED, "solved_reply")
        elif t.feedback is not None and t.feedback > 0:
            last = (CONFIRMED, "thumbs_up")
        elif t.feedback is not None and t.feedback < 0:
            last = (NOT_RESOLVED, "thumbs_down")
    if conv.csat is not None and conv.csat >= 4:
        last = (CONFIRMED, "csat")
    return last


def classify(conv: Conv, later: Iterable[Conv] = (), return_hours: float = 24.0) -> Verdict | None:
    """The conversation's resolution; `later` are the same customer's other conversations (any order)."""
    if not any(t.speaker == "customer" for t in conv.turns):
        return None
    if conv.handed_off or any(t.speaker == "agent" for t in conv.turns):
        return Verdict(NOT_RESOLVED, "handoff")
    signal = _signal(conv)
    if signal is not None:
        return Verdict(*signal)
    answers = [t for t in conv.turns if t.speaker in ("bot", "system") and t.answer_source]
    if not answers:
        return Verdict(NOT_RESOLVED, "no_answer")
    if answers[-1].answer_source not in ANSWER_SOURCES:
        return Verdict(NOT_RESOLVED, "fallback")
    answered_at = answers[-1].at
    deadline = answered_at + dt.timedelta(hours=return_hours)
    topics = conv.topics()
    back = [other.id for other in later
            if other.id != conv.id and other.customer == conv.customer and topics & _topics_between(
                other, answered_at, deadline)]
    if back:
        return Verdict(NOT_RESOLVED, "returned", back)
    return Verdict(ASSUMED, "answered")


def _topics_between(conv: Conv, after: dt.datetime, until: dt.datetime) -> set[tuple[str, str]]:
    """The topics of what the customer asked in `conv` after `after` and by `until` (and the articles
    answering them)."""
    turns = tuple(t for t in conv.turns if after < t.at <= until)
    if not any(t.speaker == "customer" for t in turns):
        return set()
    return Conv(conv.id, conv.customer, conv.started_at, turns).topics()
