"""Turning retrieval hits and decisions into chat text and the `supportbot` custom payload.

Chat widgets show plain text, so the article's markdown is flattened (headings, emphasis, tables)
and long passages are cut at a line boundary. A KB answer is ONE message: the excerpt that answers
(actions/excerpt.py), the source line (the article's title and link), and a "Show the full article"
button whose payload (`/show_full_article{"kb_article": URL}`) makes `action_show_full_article` send
the rest, and, when the NLU's two best intents were close, a "Did you mean: TITLE?" button for the
runner-up's article (payload `/INTENT`). The payload comes right after the text it annotates, as
`{"supportbot": {"sources": [...], "candidates": [...], ...}}`; its fields are listed in
docs/architecture.md ("The action → service payload"); the answer's first source lists the
article's paragraphs that were used (`passages`), which the console shows.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from actions.knowledge import Decision, Understanding
from actions.markdown_text import plain_text  # noqa: F401 - part of this module's interface

if TYPE_CHECKING:
    from actions.excerpt import Excerpt

MAX_ANSWER_CHARS = 1400  # a whole KB article (80-200 words) fits
MAX_SOURCES = 3
FULL_ARTICLE_INTENT = "show_full_article"
FULL_ARTICLE_ENTITY = "kb_article"
FULL_ARTICLE_BUTTON = "Show the full article"
# the answer's own words in the conversation's language (the `language` slot); English otherwise
FULL_ARTICLE_BUTTONS = {"zh": "查看全文"}
SOURCE_LABELS = {"zh": "来源："}
# the runner-up intent's article, when the NLU could not tell two intents apart (`kb_alternative_ratio`)
ALTERNATIVE_BUTTON = "Did you mean: {title}?"
ALTERNATIVE_BUTTONS = {"zh": "您是想问：{title}？"}
PASSAGE_PREVIEW_CHARS = 80


def shorten(text: str, limit: int = MAX_ANSWER_CHARS) -> str:
    """Cut at the last line (or sentence) boundary before `limit` characters."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    boundary = max(cut.rfind("\n"), cut.rfind(". "))
    if boundary > limit // 2:
        cut = cut[: boundary + 1]
    return cut.rstrip() + " …"


def source_line(title: str, url: str | None, language: str | None = None) -> str:
    label = SOURCE_LABELS.get(language or "", "Source: ")
    return f"{label}{title} – {url}" if url else f"{label}{title}"


def answer_text(hit: dict, body: str, language: str | None = None) -> str:
    """The reply for a KB hit: the excerpt that answers, then the article's title and link."""
    title = str(hit.get("title") or "our help centre")
    return f"{body}\n\n{source_line(title, hit.get('url'), language)}"


def full_article_button(url: str, language: str | None = None) -> dict[str, str]:
    entity = json.dumps({FULL_ARTICLE_ENTITY: url}, ensure_ascii=False)
    return {"title": FULL_ARTICLE_BUTTONS.get(language or "", FULL_ARTICLE_BUTTON),
            "payload": f"/{FULL_ARTICLE_INTENT}{entity}"}


def alternative_button(intent: str, title: str, language: str | None = None) -> dict[str, str]:
    """"Did you mean: TITLE?": its payload `/INTENT` makes `action_answer_question` answer from that intent's
    article (a payload is answered from the intent's article, never re-classified)."""
    return {"title": ALTERNATIVE_BUTTONS.get(language or "", ALTERNATIVE_BUTTON).format(title=title),
            "payload": f"/{intent}"}


def passages_used(blocks: list[str] | tuple[str, ...], excerpt: Excerpt) -> list[dict[str, Any]]:
    """The article's paragraphs in the answer, for the console: index and the start of the text."""
    return [{"paragraph": i, "text": shorten(blocks[i], PASSAGE_PREVIEW_CHARS)} for i in excerpt.blocks]


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
    """The custom payload sent after the reply (json_message); `passages` go on the answer's source."""
    passages = extra.pop("passages", None)
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
    if selection.get("learnt_min_score") is not None:  # the serving model's learnt-reply-first threshold
        body["learnt_min_score"] = selection["learnt_min_score"]
    if selection.get("screened"):  # the candidates were scored by the int8 screen (actions/screen.py)
        body["candidates_screened"] = True
    if decision.kind == "low_confidence":
        body["low_confidence"] = True
    if decision.kind == "out_of_scope":
        body["out_of_scope"] = True
    if passages and body["sources"]:
        body["sources"][0]["passages"] = passages
    body.update(extra)
    return {"supportbot": body}
