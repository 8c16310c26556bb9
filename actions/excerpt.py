"""The concise KB answer: the article's paragraph (or two) that best answers the question.

An article is split into *blocks* — its paragraphs, a heading or a lead-in line ("…for several
reasons:") kept with the paragraph or list it introduces, a list kept whole — and each block is embedded once, at warm-up
(`KbCatalog.embed`). At answer time the customer's message vector (the one Rasa computed) ranks the
chosen article's blocks by cosine, the opening one with a head start (`LEAD_BONUS`: it wins unless another block
is clearly closer); the best block is the answer, the runner-up is added when both fit in `kb_answer_words`
(default 60), and the text is cut at a sentence when one block alone is longer.
The blocks keep the article's order. What was left out is what "Show the full article" sends.
Plain functions over plain data; numpy only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from actions.markdown_text import plain_text

# the opening paragraph usually states the answer, and MiniLM's question-to-paragraph cosine is a weak signal:
# the opening block keeps its place unless another is closer by more than this (chosen on 60 questions of the
# training split, data/eval/kb_answer_labels_train.jsonl; docs/retrieval.md "Concise answers")
LEAD_BONUS = 0.2
_HEADING_ONLY = re.compile(r"^\s{0,3}(#{1,6}\s+.*|\*\*[^*]+\*\*:?)\s*$")
_SENTENCE_END = re.compile(r"(?<=[^\d\s][.!?])\s+(?=[A-Z0-9\"'(])")


def split_blocks(markdown: str, title: str | None = None) -> list[str]:
    """The article's blocks as plain chat text, in order (a lone heading joins the next block)."""
    raw = [b.strip() for b in re.split(r"\n\s*\n", markdown.strip()) if b.strip()]
    blocks: list[str] = []
    pending = ""
    for block in raw:
        if (_HEADING_ONLY.match(block) or block.rstrip().endswith(":")) and "\n" not in block:
            pending = f"{pending}\n{block}".strip()  # a heading or a lead-in ("...for these reasons:")
            continue
        text = plain_text(f"{pending}\n{block}" if pending else block, title)
        pending = ""
        if text:
            blocks.append(text)
    if pending:
        tail = plain_text(pending, title)
        if tail:
            blocks.append(tail)
    return blocks


def word_count(text: str) -> int:
    return len(text.split())


def cut_words(text: str, limit: int) -> str:
    """`text` within `limit` words: whole sentences while they fit (line breaks kept), else the first
    `limit` words + …"""
    if word_count(text) <= limit:
        return text
    best = ""
    for boundary in _SENTENCE_END.finditer(text):
        prefix = text[: boundary.start()].rstrip()
        if word_count(prefix) > limit:
            break
        best = prefix
    if best:
        return best
    return " ".join(text.split()[: max(1, limit)]) + " …"


@dataclass(frozen=True)
class Excerpt:
    text: str
    blocks: tuple[int, ...]  # indices of the article's blocks used, in article order
    rest: tuple[int, ...]  # the blocks left out (what "Show the full article" sends)
    cut: bool  # a block was shortened to fit

    @property
    def words(self) -> int:
        return word_count(self.text)


def choose_blocks(scores: np.ndarray, words: list[int], limit: int) -> list[int]:
    """The best block; the runner-up too when both fit in `limit` words. Article order."""
    if len(words) == 0:
        return []
    order = [int(i) for i in np.argsort(-np.asarray(scores, dtype=np.float32), kind="stable")]
    chosen = [order[0]]
    if len(order) > 1 and words[order[0]] + words[order[1]] <= limit:
        chosen.append(order[1])
    return sorted(chosen)


def block_scores(vectors: np.ndarray, query_vector: np.ndarray, lead_bonus: float = LEAD_BONUS) -> np.ndarray:
    """Each block's score for a question: cosine to its vector, the opening block's plus `lead_bonus`."""
    scores = vectors @ np.asarray(query_vector, dtype=np.float32).reshape(-1)
    scores[0] += lead_bonus
    return scores


def excerpt(blocks: list[str], vectors: np.ndarray | None, query_vector: np.ndarray | None, limit: int,
            lead_bonus: float = LEAD_BONUS) -> Excerpt:
    """The answer text from an article's blocks for a question (its vector); first block without one."""
    if not blocks:
        return Excerpt("", (), (), False)
    if vectors is not None and query_vector is not None and len(vectors) == len(blocks):
        scores = block_scores(vectors, query_vector, lead_bonus)
    else:
        scores = -np.arange(len(blocks), dtype=np.float32)  # no vectors: the article's opening
    chosen = choose_blocks(scores, [word_count(b) for b in blocks], limit)
    joined = "\n\n".join(blocks[i] for i in chosen)
    text = cut_words(joined, limit)
    rest = tuple(i for i in range(len(blocks)) if i not in chosen)
    return Excerpt(text, tuple(chosen), rest, text != joined)
