"""Consistent placeholders inside one conversation: the same value always gets the same placeholder.

The first distinct value of a kind is `[KIND]` (what the dialogue model learns and
finetune.templates.fill_placeholders fills from slots), a second distinct one `[KIND_2]`, and so on.
A name is known by each of its words too, so "Rhiannon" after "Rhiannon Okafor" is the same
`[NAME]`, and `known_name_words` lets the engine find a learnt name again in later texts.
"""

from __future__ import annotations

import re
from collections import Counter

_MIN_WORD = 3


def _normal(kind: str, value: str) -> str:
    if kind in ("NAME", "ADDRESS", "EMAIL"):
        return " ".join(value.lower().split())
    return re.sub(r"[^0-9a-z]", "", value.lower()) or value


class Pseudonyms:
    def __init__(self) -> None:
        self._by_value: dict[tuple[str, str], str] = {}
        self._name_words: dict[str, str] = {}
        self._next: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()  # placeholders put in, by kind

    def placeholder(self, kind: str, value: str) -> str:
        key = (kind, _normal(kind, value))
        found = self._by_value.get(key)
        if found is None and kind == "NAME":
            found = next((self._name_words[w] for w in self._words(value) if w in self._name_words), None)
        if found is None:
            self._next[kind] += 1
            n = self._next[kind]
            found = f"[{kind}]" if n == 1 else f"[{kind}_{n}]"
        self._by_value[key] = found
        if kind == "NAME":
            for w in self._words(value):
                self._name_words.setdefault(w, found)
        self.counts[kind] += 1
        return found

    @staticmethod
    def _words(value: str) -> list[str]:
        words = [w.lower() for w in re.findall(r"[^\W\d_][\w'’\-]*", value)]
        return [w for w in words if len(w) >= _MIN_WORD or (len(w) >= 2 and not w.isascii())]

    def learn_name(self, value: str) -> None:
        self.placeholder("NAME", value)
        self.counts["NAME"] -= 1

    def known_name_words(self) -> list[str]:
        return sorted(self._name_words, key=len, reverse=True)
