"""The knowledge base itself: one article per Banking77 topic, with title, URL and a useful body."""

from __future__ import annotations

import csv

from actions.catalog import KbCatalog
from core.paths import datasets_dir
from core.settings import ROOT

DATASETS = datasets_dir()


def banking77_topics() -> set[str]:
    with open(DATASETS / "banking77" / "train.csv", newline="", encoding="utf-8") as fh:
        return {row["category"] for row in csv.DictReader(fh)}


def test_one_article_per_banking77_topic():
    catalog = KbCatalog.load(ROOT / "data" / "kb")
    assert set(catalog.by_topic) == banking77_topics()
    assert len(list((ROOT / "data" / "kb").glob("*.md"))) == 77


def test_articles_have_unique_urls_titles_and_concise_bodies():
    catalog = KbCatalog.load(ROOT / "data" / "kb")
    articles = list(catalog.by_topic.values())
    assert len({a.url for a in articles}) == 77 and len({a.title for a in articles}) == 77
    for a in articles:
        assert a.url.startswith("https://help.harborbank.example/articles/"), a.path
        words = len(a.body.split())
        assert 80 <= words <= 230, (a.path, words)  # 80-200 words of body, plus the heading


def test_unreadable_article_is_skipped(tmp_path):
    (tmp_path / "good.md").write_text("---\ntitle: Good\nurl: https://x/good\ntopic: good\n---\n\nBody.\n")
    (tmp_path / "broken.md").write_text("---\ntitle: [unclosed\n---\nBody\n")
    (tmp_path / "latin1.md").write_bytes("---\ntitle: caf\xe9\n---\n".encode("latin-1"))
    (tmp_path / "no_front_matter.md").write_text("# Just a heading\n")
    catalog = KbCatalog.load(tmp_path)
    assert list(catalog.by_topic) == ["good"]
    assert catalog.article_for({"url": "https://x/good"}).body == "Body."
