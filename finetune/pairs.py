"""From conversations to (context → next agent reply) pairs, the response bank, splits and fingerprints.

The context string puts the most recent turn first: encoders truncate from the end, so a long
conversation loses its oldest turn rather than the customer's last message.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter

CONTEXT_SEPARATOR = " || "


def format_context(turns: list[dict], max_turns: int = 3) -> str:
    """`[{"speaker","text"}, ...]` (oldest first) as one string, newest turn first."""
    recent = [t for t in turns if str(t.get("text", "")).strip()][-max_turns:] if max_turns > 0 else []
    return CONTEXT_SEPARATOR.join(f"{t.get('speaker', 'customer')}: {t['text'].strip()}" for t in reversed(recent))


def make_pairs(conversations: list[dict], context_turns: int = 3) -> list[dict]:
    """One pair per agent turn that has at least one earlier turn."""
    pairs = []
    for conv in conversations:
        turns = conv["turns"]
        for i, turn in enumerate(turns):
            if i == 0 or turn["speaker"] != "agent":
                continue
            pair = {
                "conversation_id": conv["conversation_id"],
                "context": format_context(turns[:i], context_turns),
                "reply": turn["text"],
            }
            if turn.get("label"):  # confirmed / correction: a reply sent from a console suggestion
                pair["label"] = turn["label"]
            pairs.append(pair)
    return pairs


def response_bank(pairs: list[dict]) -> list[dict]:
    """De-duplicated replies with how often each was used, most frequent first (ties: first seen)."""
    counts = Counter(p["reply"] for p in pairs)
    order = {text: i for i, text in reversed(list(enumerate(p["reply"] for p in pairs)))}
    return [{"id": i, "text": text, "count": counts[text]}
            for i, text in enumerate(sorted(counts, key=lambda t: (-counts[t], order[t])))]


def data_fingerprint(conversations: list[dict]) -> str:
    """A stable hash of the dialogue content (ids, speakers, texts), independent of file order."""
    digest = hashlib.sha256()
    for conv in sorted(conversations, key=lambda c: str(c["conversation_id"])):
        body = [str(conv["conversation_id"])] + [[t["speaker"], t["text"]] for t in conv["turns"]]
        digest.update(json.dumps(body, ensure_ascii=False).encode())
    return digest.hexdigest()[:32]


def in_holdout(conversation_id: str, fraction: float, seed: int) -> bool:
    """Whether a conversation belongs to the held-out part: a hash of (seed, id), so the split is
    fixed for a conversation however many others arrive later."""
    h = hashlib.sha256(f"{seed}:{conversation_id}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64 < fraction


def split_conversations(conversations: list[dict], fraction: float = 0.1, seed: int = 13
                        ) -> tuple[list[dict], list[dict]]:
    """(train, held_out) by conversation, never splitting one conversation across both."""
    train, held = [], []
    for conv in conversations:
        (held if in_holdout(str(conv["conversation_id"]), fraction, seed) else train).append(conv)
    return train, held


def shuffled_pairs(pairs: list[dict], seed: int = 0) -> list[dict]:
    """The same contexts and replies with the replies shuffled across pairs: a deliberately broken
    training set, used to check that the promotion gate refuses what it produces."""
    import random

    replies = [p["reply"] for p in pairs]
    random.Random(seed).shuffle(replies)
    return [{**p, "reply": r} for p, r in zip(pairs, replies)]
