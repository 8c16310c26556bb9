"""Turning retrieval hits and decisions into chat text and the `supportbot` custom payload.

Chat widgets show plain text, so the article's markdown is flattened (headings, emphasis, tables)
and long passages are cut at a line boundary. The payload comes right after the text it annotates,
as `{"supportbot": {"sources": [...], "candidates": [...], ...}}`; its fields are listed in
docs/architecture.md ("The action → service payload").
"""

from __future__ import annotations

import re
from typing import Any

from actions.knowledge import Decision, Understanding

MAX_ANSWER_CHARS = 1400  # a whole KB article (80-200 words) fits
MAX_SOURCES = 3

_STRONG = re.compile(r"\*\*|__")
_ITALIC = re.compile(r"(?<![\w*])\*(\S[^*\n]*?)\*(?![\w*])")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}.*$")


def plain_text(markdown: str, title: str | None = None) -> str:
    """Markdown of a KB passage as plain chat text."""
    lines: list[str] = []
    for raw in markdown.strip().splitlines():
        line = raw.rstrip()
        if _TABLE_RULE.match(line) and "|" in line:
            continue
        if line.lstrip().startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            line = " – ".join(c for c in cells if c)
        line = _ITALIC.sub(r"\1", _STRONG.sub("", _HEADING.sub("", line)))
        if title and not lines and line.strip().lower() == title.strip().lower():
            continue  # the passage starts with the article's own heading
        lines.append(line)
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text


def shorten(text: str, limit: int = MAX_ANSWER_CHARS) -> str:
    """Cut at the last line (or sentence) boundary before `limit` characters."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    boundary = max(cut.rfind("\n"), cut.rfind(". "))
    if boundary > limit // 2:
        cut = cut[: boundary + 1]
    return cut.rstrip() + " …"


def answer_text(hit: dict, article_body: str | None = None) -> str:
    """The reply for a KB hit: its whole article when we have it (else the passage), then the link."""
    title = str(hit.get("title") or "our help centre")
    body = shorten(plain_text(article_body or str(hit.get("text") or ""), title))
    url = hit.get("url")
    source = f"Source: {title} – {url}" if url else f"Source: {title}"
    return f"{body}\n\n{source}"


def source_of(hit: dict) -> dict[str, Any]:
    return {
        "title": hit.get("title"),
        "url": hit.get("url"),
        "doc_id": hit.get("doc_id"),
        "score": round(float(hit.get("score", 0.0)), 4),
    }


def sources_for(decision: Decision, min_score: float) -> list[dict[str, Any]]:
    """The answer's article first, then other articles that scored well (one entry per article)."""
    ordered = ([decision.hit] if decision.hit else []) + [
        h for h in decision.hits if float(h.get("score", 0.0)) >= min_score
    ]
    seen: set[str] = set()
    sources = []
    for hit in ordered:
        key = str(hit.get("url") or hit.get("doc_id"))
        if key in seen:
            continue
        seen.add(key)
        sources.append(source_of(hit))
    return sources[:MAX_SOURCES]


def payload(
    decision: Decision,
    understanding: Understanding,
    min_score: float,
    model_versions: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The custom payload sent after the reply (json_message)."""
    selection = decision.selection or {}
    versions = dict(model_versions or {})
    if selection.get("model_version") is not None:
        versions["responses"] = selection["model_version"]
    body: dict[str, Any] = {
        "sources": sources_for(decision, min_score) if decision.kind == "kb" else [],
        "candidates": [
            {"text": c.get("text"), "score": round(float(c.get("score", 0.0)), 4)}
            for c in selection.get("candidates") or []
        ],
        "model_versions": versions,
        "answer_source": decision.kind,
        "nlu": {"intent": understanding.intent, "confidence": round(understanding.confidence, 4)},
    }
    if decision.kind == "low_confidence":
        body["low_confidence"] = True
    body.update(extra)
    return {"supportbot": body}
