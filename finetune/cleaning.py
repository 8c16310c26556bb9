"""Cleaning imported conversations before anything learns from them; every step is counted.

Order matters: whitespace is normalised first so that "hi " and "hi" count as the same turn, exact
repeats (a resent message) are dropped before consecutive turns of one speaker are merged, and the
length check runs last, on what is left.
"""

from __future__ import annotations

import re

WHITESPACE = re.compile(r"\s+")


def normalise_whitespace(text: str) -> str:
    return WHITESPACE.sub(" ", text).strip()


def clean_conversations(
    conversations: list[dict], min_turns: int = 2, max_turn_chars: int = 2000
) -> tuple[list[dict], dict]:
    """Return the cleaned conversations (new dicts; the input is untouched) and a count per step."""
    report = {
        "conversations_in": len(conversations),
        "turns_in": sum(len(c["turns"]) for c in conversations),
        "duplicate_conversations": 0,
        "whitespace_normalised": 0,
        "empty_turns_dropped": 0,
        "duplicate_turns_dropped": 0,
        "turns_merged": 0,
        "turns_truncated": 0,
        "short_conversations_dropped": 0,
    }
    seen_ids: set[str] = set()
    out = []
    for conv in conversations:
        if conv["conversation_id"] in seen_ids:
            report["duplicate_conversations"] += 1
            continue
        seen_ids.add(conv["conversation_id"])
        turns = _clean_turns(conv["turns"], max_turn_chars, report)
        if len(turns) < min_turns:
            report["short_conversations_dropped"] += 1
            continue
        out.append({**conv, "turns": turns})
    report["conversations_out"] = len(out)
    report["turns_out"] = sum(len(c["turns"]) for c in out)
    return out, report


def _clean_turns(turns: list[dict], max_chars: int, report: dict) -> list[dict]:
    kept: list[dict] = []
    for turn in turns:
        text = normalise_whitespace(turn["text"])
        if text != turn["text"]:
            report["whitespace_normalised"] += 1
        if not text:
            report["empty_turns_dropped"] += 1
            continue
        if len(text) > max_chars:
            text = text[:max_chars]
            report["turns_truncated"] += 1
        if kept and kept[-1]["speaker"] == turn["speaker"] and kept[-1]["_last"] == text:
            report["duplicate_turns_dropped"] += 1
            continue
        if kept and kept[-1]["speaker"] == turn["speaker"]:
            kept[-1]["text"] = f"{kept[-1]['text']} {text}"
            kept[-1]["_last"] = text
            kept[-1]["ts"] = turn.get("ts") if turn.get("ts") is not None else kept[-1]["ts"]
            report["turns_merged"] += 1
            continue
        kept.append({**turn, "text": text, "_last": text})
    for turn in kept:
        del turn["_last"]
    return kept
