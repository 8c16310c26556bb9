"""The knowledge base's table of contents: which article answers which intent.

Each article in data/kb/ names its Banking77 topic in its front matter. When the NLU is confident
about an intent, `action_answer_question` uses this map to prefer that topic's article among the
retrieval hits (and to search by the article's title when the customer's wording missed it).
Reading 77 front matters takes milliseconds, so the action server loads it at start.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import yaml

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Article:
    topic: str
    title: str
    url: str
    path: Path


def read_front_matter(path: Path) -> dict:
    """The YAML between the leading `---` lines of a markdown file ({} when there is none)."""
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end < 0:
        return {}
    data = yaml.safe_load(text[3:end]) or {}
    return data if isinstance(data, dict) else {}


class KbCatalog:
    """Articles by intent (topic). Unknown intents simply have no article."""

    def __init__(self, articles: list[Article] | None = None):
        self.by_topic: dict[str, Article] = {a.topic: a for a in articles or []}

    @classmethod
    def load(cls, kb_dir: Path) -> "KbCatalog":
        """Read every article's front matter; an unreadable article is logged and left out."""
        articles = []
        for path in sorted(Path(kb_dir).glob("*.md")):
            try:
                meta = read_front_matter(path)
            except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
                log.warning("skipping KB article %s: %s", path, exc)
                continue
            if meta.get("topic") and meta.get("url"):
                articles.append(
                    Article(str(meta["topic"]), str(meta.get("title") or path.stem), str(meta["url"]), path)
                )
        return cls(articles)

    def get(self, intent: str | None) -> Article | None:
        return self.by_topic.get(intent or "")

    def __len__(self) -> int:
        return len(self.by_topic)
