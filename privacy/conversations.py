"""Conversations through the PII engine: the one function every boundary that writes or learns from
conversation text uses (training data, log-import archives, exports, the storage-policy job).

Each conversation is redacted as a whole (`PiiEngine.redact_many`), so a name keeps one placeholder
across its turns and an answer to "what is your name?" is read as a name. Counts are by
placeholder (`{"[NAME]": 3, ...}`), never the values.
"""

from __future__ import annotations

from privacy.types import KINDS


def engine_or_shared(engine=None):
    if engine is not None:
        return engine
    from privacy import get_engine

    return get_engine()


def redact_turns(texts: list[str], engine=None, counts: dict[str, int] | None = None) -> list[str]:
    """One conversation's texts, in order, redacted; `counts` (if given) adds the placeholders put in."""
    out = []
    for red in engine_or_shared(engine).redact_many([t or "" for t in texts]):
        out.append(red.text)
        if counts is not None:
            for kind, n in red.counts().items():
                counts[f"[{kind}]"] = counts.get(f"[{kind}]", 0) + n
    return out


def redact_conversations(conversations: list[dict], engine=None) -> tuple[list[dict], dict[str, int]]:
    """New `{"conversation_id", "turns": [{"speaker", "text", ...}]}` dicts with every turn redacted,
    and how many of each placeholder went in."""
    engine = engine_or_shared(engine)
    counts = {f"[{k}]": 0 for k in KINDS}
    out = []
    for conv in conversations:
        texts = redact_turns([t.get("text", "") for t in conv["turns"]], engine, counts)
        out.append({**conv, "turns": [{**t, "text": x} for t, x in zip(conv["turns"], texts)]})
    return out, counts
