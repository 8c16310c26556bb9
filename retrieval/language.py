"""Answers in the customer's language: among the results, a document in the query's language takes the
place of another language's document on the same topic.

A knowledge base may hold one article in several languages (front matter `lang: zh` and the same `topic`
as the English article; no `lang` means English). With a multilingual encoder a Chinese question often
finds the English article first, since the two say the same thing. `prefer_language` moves the best
passage of the same-topic article in the wanted language just before the other-language one; where no
such article exists the results stay as they are (the English article answers). Every result gets its
document's language under `lang` (and its `topic`), so the answer can say when it is not in the customer's
language.
"""

from __future__ import annotations

from rasa_plugins.cjk import has_cjk

DEFAULT = "en"


def query_language(query: str) -> str:
    """`zh` for a query holding Chinese characters, else English (the KB's languages)."""
    return "zh" if has_cjk(query) else DEFAULT


def document_language(meta: dict | None) -> str:
    return str((meta or {}).get("lang") or DEFAULT)


def prefer_language(results: list[dict], documents: dict[str, dict], language: str) -> list[dict]:
    """`results` (best first) reordered as above, each with `lang` set; nothing is dropped."""
    meta = {r["doc_id"]: (documents.get(r["doc_id"]) or {}).get("meta") or {} for r in results}
    tagged = [{**r, "lang": document_language(meta[r["doc_id"]]), "topic": meta[r["doc_id"]].get("topic")}
              for r in results]
    first_in_language: dict[str, int] = {}
    for i, r in enumerate(tagged):
        topic = meta[r["doc_id"]].get("topic")
        if topic and r["lang"] == language:
            first_in_language.setdefault(str(topic), i)
    out, moved = [], set()
    for i, r in enumerate(tagged):
        if i in moved:
            continue
        j = first_in_language.get(str(meta[r["doc_id"]].get("topic")))
        if r["lang"] != language and j is not None and j > i:
            out.append(tagged[j])
            moved.add(j)
        out.append(r)
    return out
