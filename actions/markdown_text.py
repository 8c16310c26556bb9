"""Markdown of a KB article or passage as plain chat text (headings, emphasis and tables flattened).

Chat widgets show plain text. Shared by the answer formatting and the excerpt splitter; `re` only.
"""

from __future__ import annotations

import re

_STRONG = re.compile(r"\*\*|__")
_ITALIC = re.compile(r"(?<![\w*])\*(\S[^*\n]*?)\*(?![\w*])")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}.*$")


def plain_text(markdown: str, title: str | None = None) -> str:
    """Markdown of a KB passage as plain chat text."""
    lines: list[str] = []
    for raw in markdown.strip().splitlines():
        line = raw.rstrip()
        if _TABLE_RULE.match(line) and "|" in line:
            continue
        if line.lstrip().startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            line = " – ".join(c for c in cells if c)
        line = _ITALIC.sub(r"\1", _STRONG.sub("", _HEADING.sub("", line)))
        if title and not lines and line.strip().lower() == title.strip().lower():
            continue  # the passage starts with the article's own heading
        lines.append(line)
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text
