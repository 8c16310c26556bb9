"""Passages follow structure, stay inside the encoder's token budget and overlap on long sections."""

from __future__ import annotations

import pytest

from retrieval.chunking import Chunker
from retrieval.documents import Document, read_file

from .conftest import ABCD_HANDBOOK

SENTENCE = "The replacement card arrives within five working days of the order being placed."


def long_doc() -> Document:
    intro = " ".join([SENTENCE] * 3)
    body = " ".join(f"Step {i}: {SENTENCE}" for i in range(40))  # one paragraph far over budget
    text = f"# Cards\n\n{intro}\n\n## Replacing a card\n\n{body}\n\n## Fees\n\nReplacements are free."
    return Document("cards.md", "Card help", text)


def test_passages_respect_the_token_budget_of_the_real_tokenizer(encoder):
    chunker = Chunker(max_tokens=80, overlap_tokens=20, count_tokens=encoder.count_tokens)
    passages = chunker.split(long_doc())
    assert len(passages) > 4
    sizes = encoder.count_tokens([p.embed_text("Card help") for p in passages])
    assert max(sizes) <= 80 + 2  # the title line's newline may merge into one piece boundary
    assert [p.position for p in passages] == list(range(len(passages)))


def test_long_sections_overlap_and_sections_do_not(encoder):
    passages = Chunker(80, 20, encoder.count_tokens).split(long_doc())
    steps = [p for p in passages if p.heading == "Cards > Replacing a card"]
    assert len(steps) >= 3
    for first, second in zip(steps, steps[1:]):
        tail = first.text.split(". ")[-1]
        assert tail in second.text  # the last sentence of one passage opens the next
    fees = [p for p in passages if p.heading == "Cards > Fees"]
    assert fees and fees[0].text.startswith("## Fees") and "Step" not in fees[0].text


def test_short_sections_are_packed_together_with_their_headings():
    doc = Document("d", "FAQ", "# FAQ\n\n## Hours\n\nOpen 9 to 5.\n\n## Phone\n\nCall 0800 000.")
    [passage] = Chunker(200, 40).split(doc)
    assert passage.text == "## Hours\n\nOpen 9 to 5.\n\n## Phone\n\nCall 0800 000."


def test_a_document_of_headings_only_yields_no_passages():
    assert Chunker(200, 40).split(Document("d", "T", "# T\n\n## Empty\n\n### Also empty")) == []


def test_abcd_handbook_subflows_fit_minilm(encoder):
    docs = read_file(ABCD_HANDBOOK, "abcd/guidelines.json")
    chunker = Chunker(200, 40, encoder.count_tokens)
    passages = [(d, p) for d in docs for p in chunker.split(d)]
    assert len(passages) >= len(docs)
    sizes = encoder.count_tokens([p.embed_text(d.title) for d, p in passages])
    assert max(sizes) <= encoder.max_seq_length


def test_invalid_budgets_are_refused():
    with pytest.raises(ValueError):
        Chunker(max_tokens=8)
    with pytest.raises(ValueError):
        Chunker(max_tokens=100, overlap_tokens=60)
