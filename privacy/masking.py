"""Console masking: what an agent's screen shows of a conversation, with personal data replaced by its
typed placeholder (`[NAME]`, `[EMAIL]` …).

The store keeps the raw text of live conversations (agents act on it, the storage policy redacts
it later); masking happens when a page or an API answer is built: the transcript (turn texts, NLU
entity values, reply candidates, corrections, the contact field), list and search previews, the
handoff queue and the live event stream. A transcript is masked as one conversation
(`redact_many`: one person keeps one placeholder). Roles in `pii_reveal_roles` may reveal a
conversation; the console writes an audit event for every reveal (bot/console/reveal.py).
Results are cached by text, so a page reload costs no second analysis.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from typing import Any

CACHE_SIZE = 20_000


def redact_text(value: Any, engine=None) -> Any:
    """One stand-alone text through the engine (exports of single texts: the analytics CSV)."""
    if not isinstance(value, str) or not value.strip():
        return value
    if engine is None:
        from privacy import get_engine

        engine = get_engine()
    return engine.redact(value).text


class Masker:
    def __init__(self, enabled: bool = True, reveal_roles: list[str] | tuple[str, ...] = ("admin",), engine=None):
        self.enabled = enabled
        self.reveal_roles = tuple(reveal_roles)
        self._engine = engine
        self._cache: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings, engine=None) -> Masker:
        return cls(settings.pii_mask_console, settings.pii_reveal_roles, engine)

    def may_reveal(self, role: str) -> bool:
        return role in self.reveal_roles

    def warm_up(self) -> None:
        """Load the engine's models now (the bot service does it before it serves), so the first masked page
        does not wait for them."""
        if self.enabled:
            self.engine.warm_up()

    @property
    def engine(self):
        if self._engine is None:
            from privacy import get_engine

            self._engine = get_engine()
        return self._engine

    # --- cache -------------------------------------------------------------------------------
    def _cached(self, key, compute):
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = compute()
        with self._lock:
            self._cache[key] = value
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return value

    # --- masking -----------------------------------------------------------------------------
    def text(self, value: Any) -> Any:
        if not self.enabled or not isinstance(value, str) or not value.strip():
            return value
        return self._cached(("t", value), lambda: self.engine.redact(value).text)

    def texts(self, values: list[str]) -> list[str]:
        """One conversation's texts, in order, with consistent placeholders."""
        if not self.enabled:
            return values
        key = ("c", tuple(values))
        return self._cached(key, lambda: [r.text for r in self.engine.redact_many([v or "" for v in values])])

    def contact(self, value: str | None) -> str | None:
        if not self.enabled or not value:
            return value
        return "[EMAIL]" if "@" in value else self.text(value)

    def transcript(self, data: dict) -> dict:
        """A copy of bot.console.transcript.load_transcript's answer with personal data masked."""
        if not self.enabled:
            return data
        out = copy.copy(data)
        out["conversation"] = {**data["conversation"], "contact": self.contact(data["conversation"].get("contact")),
                               "masked": True}
        turns = data["turns"]
        masked = self.texts([t["text"] or "" for t in turns])
        out["turns"] = []
        for t, text in zip(turns, masked):
            row = {**t, "text": text, "entities": self.entities(t.get("entities")),
                   "candidates": [{**c, "text": self.text(c.get("text"))} for c in t.get("candidates") or []],
                   "corrections": [{**c, "value": self.text(c["value"]) if c.get("kind") == "reply" else c["value"]}
                                   for c in t.get("corrections") or []]}
            if t.get("in_reply_to"):
                row["in_reply_to"] = {**t["in_reply_to"], "entities": self.entities(t["in_reply_to"].get("entities"))}
            out["turns"].append(row)
        return out

    def entities(self, entities: list | None) -> list:
        return [{**e, "value": self.text(e.get("value"))} if isinstance(e, dict) else e for e in entities or []]

    def rows(self, items: list[dict], field: str = "preview") -> list[dict]:
        if not self.enabled:
            return items
        return [{**i, field: self.text(i.get(field))} for i in items]

    def event(self, event: dict) -> dict:
        """A live (hub) event as the console's stream sends it."""
        if not self.enabled or not isinstance(event.get("text"), str):
            return event
        return {**event, "text": self.text(event["text"])}
