"""Imported logs kept for training: cleaned and anonymised JSONL files under var/logs/imported/.

Only anonymised text is ever written here (`supportbot logs import` anonymises before saving), and
each file has a `.report.json` beside it saying where it came from and what cleaning removed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from finetune.importers import ImportResult, read_jsonl


def archive_dir(var_dir: Path) -> Path:
    return Path(var_dir) / "logs" / "imported"


def save_import(conversations: list[dict], report: dict, var_dir: Path, source: str) -> Path:
    """Write one import as `<UTC time>-<source>.jsonl`; the write is atomic (temp file, rename)."""
    out = archive_dir(var_dir)
    out.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(source).name or source).strip("-")[:60] or "logs"
    path = out / f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}-{slug}.jsonl"
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as fh:
        for conv in conversations:
            fh.write(json.dumps(conv, ensure_ascii=False) + "\n")
    tmp.replace(path)
    path.with_suffix(".report.json").write_text(json.dumps(report, indent=2))
    return path


def load_archive(var_dir: Path, since=None) -> ImportResult:
    """Every archived conversation; a conversation imported twice keeps its latest version."""
    merged: dict[str, dict] = {}
    result = ImportResult(source=str(archive_dir(var_dir)))
    files = sorted(archive_dir(var_dir).glob("*.jsonl")) if archive_dir(var_dir).is_dir() else []
    for path in files:
        part = read_jsonl(path, since=since)
        result.errors += [{**e, "file": path.name} for e in part.errors]
        result.before_since += part.before_since
        result.undated += part.undated
        for conv in part.conversations:
            merged[conv["conversation_id"]] = {**conv, "source": "archive"}
    result.conversations = list(merged.values())
    return result


def matching_lines(var_dir: Path, match) -> list[dict]:
    """Archived conversations (parsed lines) for which `match(conversation, raw_line)` is true."""
    out = []
    for path in _files(var_dir):
        for raw in path.read_text().splitlines():
            conv = _parse(raw)
            if conv is not None and match(conv, raw):
                out.append({**conv, "file": path.name})
    return out


def drop_lines(var_dir: Path, match) -> dict:
    """Rewrite every archive file without the lines `match(conversation, raw_line)` selects (each file
    atomically: temp file, rename). Returns {"lines": n, "conversation_ids": [...]} of what went."""
    dropped, ids = 0, []
    for path in _files(var_dir):
        kept, gone = [], 0
        for raw in path.read_text().splitlines():
            conv = _parse(raw)
            if conv is not None and match(conv, raw):
                gone += 1
                ids.append(str(conv.get("conversation_id")))
            else:
                kept.append(raw)
        if gone:
            tmp = path.with_suffix(".tmp")
            tmp.write_text("".join(line + "\n" for line in kept))
            tmp.replace(path)
            dropped += gone
    return {"lines": dropped, "conversation_ids": ids}


def _files(var_dir: Path) -> list[Path]:
    d = archive_dir(var_dir)
    return sorted(d.glob("*.jsonl")) if d.is_dir() else []


def _parse(raw: str) -> dict | None:
    try:
        obj = json.loads(raw)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None
