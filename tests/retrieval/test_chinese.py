"""Chinese knowledge-base text: sentence-aware chunking (。！？；) and BM25 over jieba's words."""

from __future__ import annotations

import re

import bm25s
import numpy as np

from retrieval.bm25 import BM25Index, _stemmer, _tokenize
from retrieval.chunking import Chunker, sentences
from retrieval.documents import Document

ARTICLE = """# 银行卡丢失或被盗

如果您的卡丢失或被盗，请立即在应用中冻结。冻结后，任何人都无法用它付款或取现！您随时可以解冻；如果确定找不到了，请申请补办新卡。

## 补办新卡

我们会免费寄送新卡，通常需要三到五个工作日。“新卡到达后，请先激活再使用。”旧卡的自动扣款会转到新卡上。如果发现不认识的交易，请告诉我们，我们会调查并在核实后退款。

## 被盗刷怎么办

请在应用中查看最近的交易记录。对每一笔您不认识的消费，点击“我不认识这笔交易”。我们通常在十个工作日内给出结果？如果情况紧急，请联系人工客服；客服全天在线。
"""
PUNCT_START = re.compile(r"^[^\w\s“‘「『（(【《\"']")


def test_sentences_end_at_chinese_punctuation_and_keep_their_closing_quotes():
    text = "请立即冻结。冻结后无法付款！要补办吗？我们免费寄送；三到五天。“请先激活。”旧卡作废。"
    assert sentences(text) == ["请立即冻结。", "冻结后无法付款！", "要补办吗？", "我们免费寄送；", "三到五天。",
                               "“请先激活。”", "旧卡作废。"]
    assert sentences("好的。。。谢谢！Then English. And more") == ["好的。。。", "谢谢！", "Then English.", "And more"]


def test_chinese_chunking_never_splits_inside_a_sentence_nor_starts_with_punctuation():
    doc = Document("lost.md", "银行卡丢失或被盗", ARTICLE)
    every = [s for line in ARTICLE.splitlines() if line.strip() and not line.startswith("#")
             for s in sentences(line)]
    for budget in (40, 64, 200):  # small budgets force cuts between sentences (each still fits one)
        passages = Chunker(max_tokens=budget, overlap_tokens=budget // 4).split(doc)
        assert passages, budget
        text = "\n".join(p.text for p in passages)
        for sentence in every:
            assert sentence in text, (budget, sentence)  # each sentence whole in some passage
        for p in passages:
            body = p.text.split("\n", 1)[-1] if p.text.startswith("#") else p.text
            assert not PUNCT_START.match(body.strip()), (budget, p.text)
            pieces = [s for s in sentences(body.replace("\n", "")) if s]
            assert all(piece in ARTICLE.replace("\n", "") for piece in pieces)


def test_a_chinese_sentence_longer_than_the_budget_is_cut_between_characters_not_before_punctuation():
    long = "我们会在收到您的申请后，" * 12 + "尽快处理。"
    passages = Chunker(max_tokens=32, overlap_tokens=0).split(Document("long.md", "长句", long))
    assert len(passages) > 2
    assert "".join(p.text for p in passages) == long
    assert not any(PUNCT_START.match(p.text) for p in passages)


def test_bm25_finds_chinese_articles_by_word():
    texts = ["银行卡丢失或被盗时，请立即在应用中冻结卡片并补办新卡。", "汇率：我们按照实时的银行间汇率换汇。",
             "退款通常在五到十个工作日内到账，请向商家索取退款编号。", "Top up your account by bank transfer or card."]
    index = BM25Index.build(np.arange(len(texts)), texts)
    assert index.search("我的卡丢了", k=1)[1].tolist() == [0]
    assert index.search("美元汇率是多少", k=1)[1].tolist() == [1]
    assert index.search("退款还没到账", k=1)[1].tolist() == [2]
    assert index.search("top up by card", k=1)[1].tolist() == [3]
    scores, ids = index.score_ids("卡丢了", np.arange(len(texts)), k=2)
    assert ids.tolist() == [0] and scores[0] > 0
    assert _tokenize(["我的银行卡丢了，怎么办？"], return_ids=False) == [["银行卡", "银", "行", "卡", "丢"]]


def test_english_terms_are_exactly_those_of_the_english_tokenizer():
    texts = ["My card was stolen at the ATM; what now?", "Top-up failed twice: error XQ7 (see FAQ)."]
    before = bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), show_progress=False, return_ids=False)
    assert _tokenize(texts, return_ids=False) == before
