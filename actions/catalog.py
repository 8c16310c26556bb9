"""The knowledge base's table of contents: which article answers which intent, and its text.

Each article in data/kb/ names its Banking77 topic in its front matter. When the NLU is confident
about an intent, `action_answer_question` uses this map to prefer that topic's article among the
retrieval hits (and to search by the article's title when the customer's wording missed it).
The retriever finds passages; an article is split into ~2 of them, and a passage from its middle
makes a poor reply, so the reply is built from the hit's *article*: its paragraph (or two) closest to
the question (actions/excerpt.py). Each article's blocks are split once at load and embedded once
by `embed()` at warm-up, so no request splits or encodes an article. Reading 77 small files takes
milliseconds, so the action server loads them at start.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from actions.excerpt import split_blocks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Article:
    topic: str
    title: str
    url: str
    path: Path
    body: str = ""
    blocks: tuple[str, ...] = field(default=(), compare=False)
    lang: str = "en"


def split_front_matter(text: str) -> tuple[dict, str]:
    """(the YAML between the leading `---` lines, the markdown after them)."""
    if not text.startswith("---"):
        return {}, text
    end = text.find("\n---", 3)
    if end < 0:
        return {}, text
    data = yaml.safe_load(text[3:end]) or {}
    body = text[end + 4 :].split("\n", 1)[-1] if "\n" in text[end + 4 :] else ""
    return (data if isinstance(data, dict) else {}), body.strip()


class KbCatalog:
    """Articles by intent (topic). Unknown intents simply have no article."""

    def __init__(self, articles: list[Article] | None = None):
        # an intent's article is the English one where a topic also has other languages' (front matter `lang`);
        # those are found by URL (`article_for`), so their answers get excerpts and the full-article button too
        ordered = sorted(articles or [], key=lambda a: a.lang == "en")
        self.by_topic: dict[str, Article] = {a.topic: a for a in ordered}
        self.by_url: dict[str, Article] = {a.url: a for a in articles or []}
        self.block_vectors: dict[str, np.ndarray] = {}

    @classmethod
    def load(cls, kb_dir: Path) -> KbCatalog:
        """Read every article's front matter; an unreadable article is logged and left out."""
        articles = []
        for path in sorted(Path(kb_dir).glob("*.md")):
            try:
                meta, body = split_front_matter(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
                log.warning("skipping KB article %s: %s", path, exc)
                continue
            if meta.get("topic") and meta.get("url"):
                title = str(meta.get("title") or path.stem)
                articles.append(Article(str(meta["topic"]), title, str(meta["url"]), path, body,
                                        tuple(split_blocks(body, title)), str(meta.get("lang") or "en")))
        return cls(articles)

    def embed(self, encoder) -> int:
        """Embed every article's blocks once (one batched encode); returns how many.

        Each block is embedded with its article's title in front ("Title. block"): a paragraph such
        as "Set it up: 1. Tap…" says what it is about only through its article (chosen on
        questions of the training split, docs/retrieval.md "Concise answers")."""
        articles = list(self.by_url.values())
        texts = [f"{a.title}. {block}" for a in articles for block in a.blocks]
        if not texts:
            return 0
        vectors = np.asarray(encoder.encode(texts), dtype=np.float32)
        start = 0
        for article in articles:
            self.block_vectors[article.url] = vectors[start : start + len(article.blocks)]
            start += len(article.blocks)
        return len(texts)

    def vectors_for(self, article: Article) -> np.ndarray | None:
        return self.block_vectors.get(article.url)

    def get(self, intent: str | None) -> Article | None:
        return self.by_topic.get(intent or "")

    def article_for(self, hit: dict) -> Article | None:
        """Our article a retrieval hit comes from (matched by URL), if any."""
        return self.by_url.get(str(hit.get("url") or ""))

    def __len__(self) -> int:
        return len(self.by_topic)
