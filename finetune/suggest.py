"""Reply suggestions for an agent: the serving dialogue model's top replies and the top KB passages.

`Suggester.suggest(turns, slots)` takes a conversation's turns (oldest first, `{"speaker", "text"}`)
and the slot values known for it, and returns

    {"replies": [{"rank", "template", "text", "parts", "missing", "score"}],
     "passages": [{"title", "url", "text", "score"}],
     "model_version", "kb_version", "ms"}

`template` is the reply as the model's bank holds it ("Thank you, [NAME]."); `text` has every
placeholder that has a slot value filled and every other one left in brackets, so the agent sees
what to fill in; `parts` is the same text split into plain and `{"missing": "NAME"}` pieces for the
panel to highlight. A PIN placeholder is never filled (see finetune.templates).

Invariants: the engine only reads (no store writes); both collaborators are optional: with no
response model serving `replies` is empty, with no KB index `passages` is empty, and the reason is
in `notes`. The context is the last customer message and what came before it: the reply being
proposed is the next agent turn.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from finetune.templates import FORMATS, PLACEHOLDER, SLOTS

log = logging.getLogger(__name__)
REPLIES = 3
PASSAGES = 3
PASSAGE_CHARS = 320


def slots_from_turns(turns: list[dict], meta: dict | None = None) -> dict[str, Any]:
    """Slot values a conversation has shown: entities the NLU extracted (latest wins) and the
    conversation's verified details (`meta["slots"]`, `meta["customer_name"]`)."""
    slots: dict[str, Any] = {}
    for turn in turns:
        for entity in turn.get("entities") or []:
            if isinstance(entity, dict) and entity.get("entity") and entity.get("value") not in (None, ""):
                slots[str(entity["entity"])] = entity["value"]
    meta = meta or {}
    if isinstance(meta.get("slots"), dict):
        slots.update({k: v for k, v in meta["slots"].items() if v not in (None, "")})
    if meta.get("customer_name"):
        slots.setdefault("customer_name", meta["customer_name"])
    return slots


def fill_marking(template: str, slots: dict) -> tuple[str, list[dict | str], list[str]]:
    """(text with unfilled placeholders kept in brackets, parts, missing placeholder types)."""
    parts: list[dict | str] = []
    missing: list[str] = []
    pos = 0
    for m in PLACEHOLDER.finditer(template):
        if m.start() > pos:
            parts.append(template[pos:m.start()])
        kind = m.group(1)
        value = next((slots[s] for s in SLOTS[kind] if slots.get(s) not in (None, "")), None)
        if value is None:
            missing.append(kind)
            parts.append({"missing": kind})
        else:
            parts.append(FORMATS.get(kind, "{}").format(value))
        pos = m.end()
    if pos < len(template):
        parts.append(template[pos:])
    text = "".join(p if isinstance(p, str) else f"[{p['missing']}]" for p in parts)
    return text, parts, missing


def context_of(turns: list[dict]) -> list[dict]:
    """The dialogue turns a suggestion answers: everything up to the last customer message."""
    dialogue = [{"speaker": t.get("speaker", "customer"), "text": t.get("text") or ""} for t in turns
                if t.get("speaker") in ("customer", "user", "bot", "agent") and (t.get("text") or "").strip()]
    last = max((i for i, t in enumerate(dialogue) if t["speaker"] in ("customer", "user")), default=-1)
    return dialogue[:last + 1]


class Suggester:
    """Wraps a `finetune.serving.ResponseSelector` and a `retrieval.service.Retriever` (either may be None)."""

    def __init__(self, selector=None, retriever=None, replies: int = REPLIES, passages: int = PASSAGES):
        self.selector = selector
        self.retriever = retriever
        self.replies = replies
        self.passages = passages

    def suggest(self, turns: list[dict], slots: dict | None = None) -> dict:
        started = time.perf_counter()
        slots = slots or {}
        context = context_of(turns)
        notes: list[str] = []
        replies, model_version = [], None
        if not context:
            notes.append("no customer message yet")
        elif self.selector is None:
            notes.append("no dialogue model loaded")
        else:
            selection = self.selector.select(context, k=self.replies)
            if selection is None:
                notes.append("no dialogue model is serving: run `supportbot retrain`")
            else:
                model_version = selection.get("model_version")
                for rank, cand in enumerate(selection["candidates"][:self.replies], start=1):
                    text, parts, missing = fill_marking(cand["text"], slots)
                    replies.append({"rank": rank, "template": cand["text"], "text": text, "parts": parts,
                                    "missing": missing, "score": cand["score"]})
        passages, kb_version = [], None
        last_customer = next((t["text"] for t in reversed(context) if t["speaker"] in ("customer", "user")), "")
        if last_customer and self.retriever is not None:
            try:
                hits = self.retriever.search(last_customer, k=self.passages)
                kb_version = self.retriever.manifest.get("version")
            except Exception as exc:  # noqa: BLE001 - an index being rebuilt must not hide the replies
                log.warning("KB search for suggestions failed: %s", exc)
                notes.append(f"knowledge base unavailable ({exc.__class__.__name__})")
                hits = []
            passages = [{"title": h.get("title") or h.get("doc_id", ""), "url": h.get("url") or "",
                         "text": _excerpt(h.get("text", "")), "score": h.get("score")} for h in hits]
        elif last_customer:
            notes.append("no knowledge-base index loaded")
        return {"replies": replies, "passages": passages, "model_version": model_version, "kb_version": kb_version,
                "notes": notes, "ms": round((time.perf_counter() - started) * 1000, 2)}


def _excerpt(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= PASSAGE_CHARS else text[:PASSAGE_CHARS].rsplit(" ", 1)[0] + "…"


def normalise_reply(text: str) -> str:
    """For matching a suggestion against what an agent wrote: case, spacing, punctuation spacing and
    placeholders (`[NAME]` and a filled-in value both count as the placeholder) do not matter."""
    text = PLACEHOLDER.sub(" <slot> ", text or "")
    text = re.sub(r"[^\w<>\s]", " ", text.lower())
    return " ".join(text.split())
