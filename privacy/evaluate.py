"""Scoring a detector on a planted-PII set: recall per kind and language, controls changed,
ordinary words kept, messages per second.

A planted value counts as removed when detected spans (of any kind) cover at least
`COVERAGE` of its letters and digits; `typed_recall` asks for the right kind as well. A control
(no personal data) is "changed" when anything in it was detected. Ordinary words are the words
(Han characters one by one) outside every planted value, over all messages; one is kept when no
detected span touches it. Speed is over the whole set in this process, after warm-up, as
wall-clock and as CPU time of this one-threaded process (the figure that holds on a busy machine).
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

COVERAGE = 0.8
WORD = re.compile(r"[\u4e00-\u9fff]|[^\W_\u4e00-\u9fff]+")


def load_set(messages: str | Path, truth: str | Path) -> list[tuple[str, str, dict]]:
    """(id, text, truth) for every message that has a truth line; a clear error otherwise."""
    texts = {}
    for line in Path(messages).read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            texts[str(rec["id"])] = rec["text"]
    items = []
    for n, line in enumerate(Path(truth).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        rec = json.loads(line)
        mid = str(rec["id"])
        if mid not in texts:
            raise ValueError(f"{truth}:{n}: id {mid!r} has no message in {messages}")
        items.append((mid, texts[mid], rec))
    if not items:
        raise ValueError(f"{truth}: no truth lines")
    return items


def _covered(text: str, start: int, end: int, spans: list[tuple[int, int, str]], kind: str | None = None) -> bool:
    wanted = [i for i in range(start, end) if text[i].isalnum()]
    if not wanted:
        return True
    hit = sum(1 for i in wanted if any(s <= i < e and (kind is None or k == kind) for s, e, k in spans))
    return hit / len(wanted) >= COVERAGE


def score(items: list[tuple[str, str, dict]], detect: Callable[[str], list[tuple[int, int, str]]]) -> dict:
    """`detect(text)` -> [(start, end, kind)]; the figures described in the module doc."""
    started, cpu_started = time.perf_counter(), time.process_time()
    found = [detect(text) for _, text, _ in items]
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    by_kind, by_lang = defaultdict(lambda: [0, 0, 0]), defaultdict(lambda: [0, 0])
    controls = changed = words = kept = spurious = 0
    for (_, text, truth), spans in zip(items, found, strict=True):
        planted = [(e["start"], e["end"], e["kind"]) for e in truth["entities"]]
        if truth.get("control") or not planted:
            controls += 1
            changed += bool(spans)
        for s, e, kind in planted:
            ok = _covered(text, s, e, spans)
            by_kind[kind][0] += 1
            by_kind[kind][1] += ok
            by_kind[kind][2] += _covered(text, s, e, spans, kind)
            by_lang[truth.get("lang", "?")][0] += 1
            by_lang[truth.get("lang", "?")][1] += ok
        for m in WORD.finditer(text):
            if any(s < m.end() and m.start() < e for s, e, _ in planted):
                continue
            words += 1
            kept += not any(s < m.end() and m.start() < e for s, e, _ in spans)
        spurious += sum(1 for s, e, _ in spans if not any(ps < e and s < pe for ps, pe, _ in planted))
    total = sum(v[0] for v in by_kind.values())
    hits = sum(v[1] for v in by_kind.values())
    return {
        "messages": len(items), "controls": controls, "entities": total,
        "recall": round(hits / total, 4) if total else None,
        "typed_recall": round(sum(v[2] for v in by_kind.values()) / total, 4) if total else None,
        "recall_by_kind": {k: round(v[1] / v[0], 4) for k, v in sorted(by_kind.items())},
        "typed_recall_by_kind": {k: round(v[2] / v[0], 4) for k, v in sorted(by_kind.items())},
        "recall_by_language": {k: round(v[1] / v[0], 4) for k, v in sorted(by_lang.items())},
        "controls_changed": round(changed / controls, 4) if controls else None,
        "ordinary_words_kept": round(kept / words, 4) if words else None,
        "spurious_entities": spurious,
        "messages_per_second": round(len(items) / elapsed, 1) if elapsed else None,
        "messages_per_cpu_second": round(len(items) / cpu, 1) if cpu else None,
    }


def misses(items, detect, limit: int = 50) -> list[dict]:
    """What a detector left or over-detected, for looking at (dev data only)."""
    out = []
    for mid, text, truth in items:
        spans = detect(text)
        for e in truth["entities"]:
            if not _covered(text, e["start"], e["end"], spans):
                out.append({"id": mid, "kind": e["kind"], "value": text[e["start"]:e["end"]], "text": text})
        if truth.get("control") and spans:
            out.append({"id": mid, "kind": "CONTROL", "value": [text[s:e] for s, e, _ in spans], "text": text})
    return out[:limit]
