"""What an agent needs on taking over: why the bot handed off, and a summary of the bot's part.

Pure functions over what the console already loads (bot/console/transcript.py's turn rows and the
conversation's `meta`), so the queue, the transcript page and their tests share them:
- `handoff_why(meta)`: one sentence from `meta.handoff_reason` (`customer`: the widget's button;
  `bot`: the bot's handoff) and `meta.handoff_detail` (the action's `reason`: `customer_request` or
  `intent:NAME`);
- `summarise(turns, meta)`: the bot part of the conversation — every turn before the first agent
  turn: what the customer asked (intents in order of first appearance, with counts), the key slots
  (the latest value of each entity, then `meta.slots`), the articles and learnt replies the bot gave,
  how many answers were fallbacks, the customer's last message, and why it handed off.
Texts come from the rows as given; the caller masks personal data before (the console's Masker).
"""

from __future__ import annotations

from typing import Any

NOT_ASKED = frozenset({"greet", "goodbye", "thank", "affirm", "deny", "show_full_article"})
WHY = {"customer": "The customer pressed “Talk to a person”.", "bot": "The bot handed off."}


def handoff_why(meta: dict[str, Any] | None) -> str:
    """Why the conversation reached the queue, as a sentence ("" when it never did)."""
    meta = meta or {}
    reason, detail = meta.get("handoff_reason"), meta.get("handoff_detail")
    if isinstance(detail, str) and detail == "customer_request":
        return "The customer asked the bot for a person."
    if isinstance(detail, str) and detail.startswith("intent:"):
        return f"The bot hands off on “{detail.split(':', 1)[1]}”."
    if reason in WHY:
        return WHY[reason]
    return f"Handed off ({reason})." if isinstance(reason, str) and reason else ""


def bot_part(turns: list[dict]) -> list[dict]:
    """The turns before the first agent turn."""
    out = []
    for t in turns:
        if t.get("speaker") == "agent":
            break
        out.append(t)
    return out


def summarise(turns: list[dict], meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """{"asked": [{"intent", "count"}], "slots": {name: value}, "articles": [{"title", "url"}],
    "replies": [text], "fallbacks": int, "last_customer": str, "why": str}."""
    asked: dict[str, int] = {}
    slots: dict[str, str] = {}
    articles: dict[str, dict] = {}
    replies: list[str] = []
    fallbacks, last_customer = 0, ""
    for t in bot_part(turns):
        speaker = t.get("speaker")
        if speaker == "customer":
            last_customer = t.get("text") or last_customer
            intent = t.get("intent")
            if intent and intent not in NOT_ASKED:
                asked[intent] = asked.get(intent, 0) + 1
            for e in t.get("entities") or []:
                if isinstance(e, dict) and e.get("entity") and e.get("value") is not None:
                    slots[str(e["entity"])] = str(e["value"])
        elif speaker in ("bot", "system"):
            source = t.get("answer_source")
            if source == "fallback":
                fallbacks += 1
            if source == "kb" and t.get("sources"):
                first = t["sources"][0]
                key = str(first.get("url") or first.get("doc_id") or first.get("title"))
                articles.setdefault(key, {"title": first.get("title") or key, "url": first.get("url")})
            if source == "learnt" and t.get("text") and t["text"] not in replies:
                replies.append(t["text"])
    for name, value in ((meta or {}).get("slots") or {}).items():
        if value not in (None, "", []) and name not in slots:
            slots[str(name)] = str(value)
    return {"asked": [{"intent": i, "count": n} for i, n in asked.items()], "slots": slots,
            "articles": list(articles.values()), "replies": replies, "fallbacks": fallbacks,
            "last_customer": last_customer, "why": handoff_why(meta)}
