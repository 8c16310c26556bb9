"""Clean, then anonymise: the one way logs become training data, shared by import, retrain and eval.

Anonymisation (privacy.conversations: the PII engine, placeholders consistent per conversation)
runs after cleaning so merged turns are anonymised as a whole (a phone number split over two
messages is one number again) and before anything is written to disk.
"""

from __future__ import annotations

from finetune.cleaning import clean_conversations
from finetune.importers import ImportResult, read_jsonl
from privacy.conversations import redact_conversations


def preprocess(conversations: list[dict], min_turns: int = 2) -> tuple[list[dict], dict]:
    cleaned, cleaning = clean_conversations(conversations, min_turns=min_turns)
    anonymised, placeholders = redact_conversations(cleaned)
    return anonymised, {"cleaning": cleaning, "anonymisation": placeholders}


def load_logs(path, min_turns: int = 2, since=None) -> tuple[list[dict], dict]:
    """A JSONL log file, imported, cleaned and anonymised; the report says what happened on the way."""
    result: ImportResult = read_jsonl(path, since=since)
    conversations, report = preprocess(result.conversations, min_turns=min_turns)
    return conversations, {"import": result.report(), **report}
