"""Tiny real log sets for training tests: the first bank-domain STAR conversations, as a customer's log file."""

from __future__ import annotations

import json
from pathlib import Path

from core.paths import datasets_dir


def write_bank_logs(out: Path, n: int = 200) -> Path:
    """The first `n` bank-domain STAR conversations written to `out` (the gate needs 100 distinct held-out replies)."""
    kept = []
    with (datasets_dir() / "star" / "conversations.jsonl").open() as fh:
        for line in fh:
            if "bank" in (json.loads(line).get("domains") or []):
                kept.append(line)
            if len(kept) == n:
                break
    out.write_text("".join(kept))
    return out
