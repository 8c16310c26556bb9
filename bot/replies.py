"""Turning what Rasa says into what the customer sees and what the store keeps.

Two pure functions, so both are tested on real Rasa output without a server:
- `parse_replies`: the REST channel's messages -> our replies. A custom payload
  `{"supportbot": {...}}` annotates the text message right before it (sources, candidates, model
  versions, the kind of answer: bot/answer_source.py) or asks for a human (`"handoff": true`).
- `nlu_details`: the tracker -> intent, confidence, entities of one customer message and the action
  that produced each bot message. The user event is found by the `turn_id` we sent as metadata, so
  details never come from a second NLU call and never from another message of the conversation.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


def safe_url(url: Any) -> str | None:
    """Only absolute http(s) links reach the widget; `javascript:` and friends are dropped."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def _buttons(raw: Any) -> list[dict]:
    out = []
    for b in raw or []:
        if isinstance(b, dict) and isinstance(b.get("title"), str) and isinstance(b.get("payload"), str):
            out.append({"title": b["title"], "payload": b["payload"]})
    return out


def _sources(raw: Any) -> list[dict]:
    out = []
    for s in raw or []:
        if not isinstance(s, dict):
            continue
        score = s.get("score")
        out.append({"title": str(s.get("title") or s.get("url") or "source"), "url": safe_url(s.get("url")),
                    "doc_id": s.get("doc_id"), "score": float(score) if isinstance(score, (int, float)) else None})
    return out


def parse_replies(messages: list[dict]) -> tuple[list[dict], bool]:
    """(replies, handoff): each reply {"text", "buttons"?, "sources"?, "candidates"?, "model_versions"?,
    "secret_input"?}."""
    replies: list[dict] = []
    handoff = False
    for m in messages:
        if not isinstance(m, dict):
            continue
        custom = m.get("custom")
        ours = custom.get("supportbot") if isinstance(custom, dict) else None
        if isinstance(ours, dict):
            handoff = handoff or ours.get("handoff") is True
            if replies:
                _annotate(replies[-1], ours)
        text = m.get("text")
        image = safe_url(m.get("image"))
        if isinstance(text, str) or image:
            reply: dict[str, Any] = {"text": text if isinstance(text, str) else ""}
            if buttons := _buttons(m.get("buttons") or m.get("quick_replies")):
                reply["buttons"] = buttons
            if image:
                reply["image"] = image
            replies.append(reply)
    return replies, handoff


def _annotate(reply: dict, ours: dict) -> None:
    if sources := _sources(ours.get("sources")):
        reply["sources"] = sources
    if isinstance(ours.get("candidates"), list):
        reply["candidates"] = [c for c in ours["candidates"] if isinstance(c, dict)]
    if isinstance(ours.get("model_versions"), dict):
        reply["model_versions"] = ours["model_versions"]
    # what answered (bot/answer_source.py) and why the bot handed off; stored, never sent to the widget
    for key, field in (("answer_source", "answer_kind"), ("template", "template"), ("error", "error"),
                       ("reason", "handoff_reason")):
        if isinstance(ours.get(key), str) and ours[key]:
            reply[field] = ours[key]
    if isinstance(ours.get("secret_input"), str) and ours["secret_input"]:
        reply["secret_input"] = ours["secret_input"][:32]  # the customer's answer is stored masked


def turn_start(events: list[dict], turn_id: int) -> int | None:
    """Index of the user event of our message (metadata `turn_id`) in `events`; None if they do not hold it."""
    for i in range(len(events) - 1, -1, -1):
        e = events[i]
        if isinstance(e, dict) and e.get("event") == "user" and (e.get("metadata") or {}).get("turn_id") == turn_id:
            return i
    return None


def nlu_details(events: list[dict], turn_id: int, replies: list[dict]) -> dict:
    """{"intent", "confidence", "entities", "actions": [action per reply], "rasa_model_id"} for one turn.

    `events` are the tracker's events, oldest first. Empty values when they do not hold our message.
    """
    start = turn_start(events, turn_id)
    if start is None:
        return {"intent": None, "confidence": None, "entities": None, "actions": [None] * len(replies),
                "rasa_model_id": None}
    user = events[start]
    parse = user.get("parse_data") or {}
    intent = parse.get("intent") or {}
    said: list[tuple[str, str | None]] = []  # (bot text, action that said it) after our message
    action = None
    for e in events[start + 1:]:
        kind = e.get("event")
        if kind == "user":
            break
        if kind == "action" and e.get("name") != "action_listen":
            action = e.get("name")
        elif kind == "bot":
            said.append((e.get("text") or "", (e.get("metadata") or {}).get("utter_action") or action))
    actions: list[str | None] = []
    for reply in replies:
        match = next((k for k, (text, _a) in enumerate(said) if text == reply.get("text")), None)
        actions.append(said.pop(match)[1] if match is not None else action)
    return {
        "intent": intent.get("name"),
        "confidence": float(intent["confidence"]) if isinstance(intent.get("confidence"), (int, float)) else None,
        "entities": [
            {k: ent.get(k) for k in ("entity", "value", "start", "end", "extractor", "confidence_entity")
             if ent.get(k) is not None}
            for ent in parse.get("entities") or [] if isinstance(ent, dict)
        ],
        "actions": actions,
        "rasa_model_id": (user.get("metadata") or {}).get("model_id"),
    }
