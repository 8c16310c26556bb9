"""Split documents into passages on structure, inside a token budget, with overlap.

Why structure first: a passage that is one section (or a few short ones) of an article reads as an
answer and cites cleanly; cutting mid-paragraph does neither. Sections (markdown headings) and
paragraphs are the units; only a paragraph longer than the budget is cut into sentences, and only
a sentence longer than the budget into word windows. Consecutive passages of the same section
share up to `overlap_tokens` of trailing sentences/paragraphs so a fact on a boundary is found from
either side. The budget counts the encoder's word pieces (the model truncates beyond its window).

Chinese has no spaces between sentences: a sentence ends after 。！？； (with any closing quotes or
brackets that follow), and a passage never starts with punctuation. A Chinese sentence longer than the
budget is cut into character windows, each starting on a character that is not punctuation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from retrieval.documents import Document

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9*])")
_ZH_END = "。！？；"
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_PUNCT = re.compile(r"[^\w\s]")
_OPENING = "“‘「『（(【《\"'"  # punctuation a sentence may start with
_APPROX = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\w\s]")


def approx_tokens(texts: list[str]) -> list[int]:
    """Word-piece estimate for when no tokenizer is at hand (≈1.3 pieces per word, one per Chinese character)."""
    return [math.ceil(len(_APPROX.findall(t)) * 1.3) for t in texts]


def sentences(text: str) -> list[str]:
    """The sentences of a paragraph: English ones split at . ! ? before a capital, Chinese ones after
    。！？； (closing quotes and brackets stay with the sentence they close)."""
    out: list[str] = []
    for piece in _SENTENCE.split(text):
        if _CJK.search(piece):
            out += _split_zh(piece)
        elif piece.strip():
            out.append(piece.strip())
    return out


def _split_zh(text: str) -> list[str]:
    parts, start = [], 0
    for i, char in enumerate(text):
        if char in _ZH_END:
            end = i + 1
            while end < len(text) and (text[end] in _ZH_END or text[end] in "”’」』）)】"):
                end += 1
            if end > start and (end == len(text) or text[end] not in _ZH_END):
                parts.append(text[start:end])
                start = end
    parts.append(text[start:])
    merged: list[str] = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        if merged and _PUNCT.match(part[0]) and part[0] not in _OPENING:  # never start with a comma, a full stop...
            merged[-1] += part
        else:
            merged.append(part)
    return merged


def _char_windows(text: str, size: int) -> list[str]:
    """Windows of about `size` characters; each starts after any punctuation at its boundary."""
    out, start = [], 0
    while start < len(text):
        end = min(len(text), start + size)
        while end < len(text) and _PUNCT.match(text[end]) and text[end] not in _OPENING:
            end += 1
        piece = text[start:end].strip()
        if piece:
            out.append(piece)
        start = end
    return out


@dataclass
class Passage:
    doc_id: str
    position: int
    heading: str
    text: str

    def embed_text(self, title: str) -> str:
        return embed_text(title, self.text)


def embed_text(title: str, text: str) -> str:
    """What the encoder sees: the document title gives a short passage its topic."""
    return f"{title}\n{text}" if title and not text.startswith(f"# {title}") else text


@dataclass
class _Unit:
    text: str
    tokens: int
    joiner: str  # how it attaches to the previous unit: paragraph break or a space
    heading: str
    section: int


class Chunker:
    def __init__(self, max_tokens: int = 200, overlap_tokens: int = 40,
                 count_tokens: Callable[[list[str]], list[int]] | None = None):
        if max_tokens < 16:
            raise ValueError("max_tokens must be at least 16")
        if not 0 <= overlap_tokens < max_tokens // 2:
            raise ValueError("overlap_tokens must be between 0 and half of max_tokens")
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens
        self.count_tokens = count_tokens or approx_tokens

    # -- structure ------------------------------------------------------------------------------
    def _blocks(self, doc: Document) -> list[tuple[str, str, int]]:
        """(block text, heading path, section number) in document order."""
        stack: list[tuple[int, str]] = []
        blocks: list[tuple[str, str, int]] = []
        section, para = 0, []

        def flush():
            if para and "".join(para).strip():
                blocks.append(("\n".join(para).strip(), " > ".join(h for _, h in stack), section))
            para.clear()

        for line in doc.text.splitlines():
            m = _HEADING.match(line)
            if m:
                flush()
                level, title = len(m.group(1)), m.group(2).strip()
                stack[:] = [(lv, h) for lv, h in stack if lv < level] + [(level, title)]
                section += 1
                if not (level == 1 and title == doc.title):
                    blocks.append((line.strip(), " > ".join(h for _, h in stack), section))
            elif line.strip():
                para.append(line.rstrip())
            else:
                flush()
        flush()
        return blocks

    def _units(self, doc: Document) -> list[_Unit]:
        blocks = self._blocks(doc)
        counts = self.count_tokens([b[0] for b in blocks])
        units: list[_Unit] = []
        for (text, heading, section), n in zip(blocks, counts):
            if n <= self.max_tokens:
                units.append(_Unit(text, n, "\n\n", heading, section))
                continue
            pieces = self._split_long(text)
            for i, (piece, count) in enumerate(zip(pieces, self.count_tokens(pieces))):
                joiner = "\n\n" if i == 0 else ("" if _CJK.search(piece) else " ")  # no spaces between Chinese sentences
                units.append(_Unit(piece, count, joiner, heading, section))
        return units

    def _split_long(self, text: str) -> list[str]:
        """Sentences; a sentence over budget becomes word windows that fit."""
        out: list[str] = []
        found = sentences(text)
        for sentence, n in zip(found, self.count_tokens(found)):
            if n <= self.max_tokens:
                out.append(sentence)
                continue
            if _CJK.search(sentence):
                out += _char_windows(sentence, max(8, int(len(sentence) * self.max_tokens / max(n, 1) * 0.9)))
                continue
            words = sentence.split()
            step = max(8, int(len(words) * self.max_tokens / max(n, 1) * 0.9))
            out += [" ".join(words[i:i + step]) for i in range(0, len(words), step)]
        return out

    # -- packing --------------------------------------------------------------------------------
    def split(self, doc: Document) -> list[Passage]:
        budget = max(16, self.max_tokens - self.count_tokens([doc.title])[0])
        passages: list[Passage] = []
        current: list[_Unit] = []

        def emit():
            if current and any(not _HEADING.match(u.text) for u in current):
                text = "".join((u.joiner if i else "") + u.text for i, u in enumerate(current))
                passages.append(Passage(doc.doc_id, len(passages), current[0].heading, text))

        for unit in self._units(doc):
            size = sum(u.tokens for u in current)
            new_section = bool(current) and unit.section != current[-1].section
            if current and (size + unit.tokens > budget or (new_section and size >= budget // 2)):
                emit()
                current = self._overlap(current) if not new_section else []
                if sum(u.tokens for u in current) + unit.tokens > budget:
                    current = []
            current.append(unit)
        emit()
        return passages

    def _overlap(self, previous: list[_Unit]) -> list[_Unit]:
        """Trailing units of the previous passage (same section) worth up to overlap_tokens."""
        carry: list[_Unit] = []
        total = 0
        for unit in reversed(previous):
            if total + unit.tokens > self.overlap_tokens or _HEADING.match(unit.text):
                break
            carry.insert(0, unit)
            total += unit.tokens
        return carry
