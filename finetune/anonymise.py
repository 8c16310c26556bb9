"""Replacing personal data with typed placeholders before anything is stored for training or exported.

Rules run in a fixed order, most specific first, so that a card number is never half-eaten by the
phone rule and a placeholder is never touched again: e-mail, IBAN, card/long numbers, phone, PIN,
account, postal address, date of birth, personal names. Names need context as well as patterns: a
reply to "May I have your name, please?" is a name even when no word list knows it, so
`anonymise_conversation` passes each turn the turn before it.

Placeholders are kept in agent replies on purpose: a reply learnt as "Thank you, [NAME]." is filled
from the conversation's slots at reply time (`finetune.templates.fill_placeholders`).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Callable

from finetune.names import FIRST_NAMES, NOT_NAMES, SURNAMES

PLACEHOLDERS = ("EMAIL", "IBAN", "CARD", "PHONE", "PIN", "ACCOUNT", "ADDRESS", "DOB", "NAME")

EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
LONG_NUMBER = re.compile(r"(?<![\d\[])(?:\d[ -]?){12,18}\d(?!\d)")
PHONES = [
    re.compile(r"(?<![\w+])\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]?\d{2,4}){1,4}(?!\d)"),
    re.compile(r"(?<!\d)\(\d{3}\)\s?\d{3}[\s.-]\d{4}(?!\d)"),
    re.compile(r"(?<![\d-])\d{3}[.-]\d{3}[.-]\d{4}(?![\d-])"),
    re.compile(r"(?<!\d)0\d{2,4}[\s-]\d{3,4}[\s-]?\d{3,4}(?!\d)"),
    re.compile(r"(?<![\d\w])\d{3} \d{3} \d{4}(?!\d)"),
]
PIN = re.compile(r"\b(?:pin|passcode|security code)\b[^.!?\d]{0,30}((?:\d{4,6}\b[^.!?\d]{0,12}){1,3})", re.I)
ACCOUNT_CONTEXT = re.compile(
    r"\b(?:account|acct|a/c|member(?:ship)?|customer|policy|reference|ref)\b(?:\s*(?:no\.?|number|#|id))?"
    r"[^.!?\d]{0,20}?([A-Z]{0,4}-?\d[\d-]{3,}[A-Z0-9]*)", re.I)
BARE_NUMBER = re.compile(r"(?<![\d\[$£€])\d{6,}(?![\d\]])")
STREET_SUFFIX = (r"(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Boulevard|Blvd|Drive|Dr|Court|Ct|Way|Place|Pl|"
                 r"Terrace|Close|Crescent|Parkway|Pkwy|Square|Sq|Highway|Hwy)")
ADDRESSES = [
    re.compile(
        r"\b\d{1,5}[A-Za-z]?(?:(?:\s+[A-Z][a-z]+\.?){1,3}\s+(?i:" + STREET_SUFFIX + r")|(?:\s+[a-z]+){1,2}\s+"
        r"(?:street|avenue|road|lane|drive|boulevard))\b\.?(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b)?"
        r"(?:,?\s*(?i:Apt|Apartment|Suite|Unit|Flat)\.?\s*#?\w+)?"
        r"(?:,\s*[A-Z][a-z]+(?:\s[A-Z][a-z]+){0,2})?(?:,?\s*[A-Z]{2}\s+\d{5}(?:-\d{4})?)?"),
    re.compile(r"\bP\.?\s?O\.?\s?Box\s+\d+\b", re.I),
    re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b"),  # UK postcode
    re.compile(r"\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b"),  # US state + ZIP
]
ADJACENT_ADDRESSES = re.compile(r"\[ADDRESS\](?:,?\s*\[ADDRESS\])+")
DATE = re.compile(r"\b(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}-\d{2}|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|"
                  r"Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}|\d{1,2}(?:st|nd|rd|th)?\s+"
                  r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?,?\s+\d{4})\b", re.I)
DOB_CONTEXT = re.compile(r"\b(?:date of birth|birth ?date|birthday|born|d\.o\.b|dob)\b", re.I)
ASKS_NAME = re.compile(r"\bname\b", re.I)

WORD = r"[A-Z][a-z][a-zA-Z'-]*"
HONORIFIC = re.compile(r"\b(Dr|Mr|Mrs|Ms|Miss|Mx|Prof|Sir|Madam)(\.?\s+)(" + WORD + r"(?:\s+" + WORD + r")?)")
STRONG_INTRO = re.compile(r"\b(?:my name is|my name's|name is|name's|call me|name:|names are)\s+"
                          r"((?:[A-Za-z][a-zA-Z'-]*)(?:\s+[A-Za-z][a-zA-Z'-]*){0,2})", re.I)
WEAK_INTRO = re.compile(r"\b(?:[Ii]'m|[Ii] am|[Tt]his is|[Ii]t's|[Ii]t is|[Ss]peaking with|[Rr]egards,?|"
                        r"[Tt]hanks,|[Cc]heers,)\s+(" + WORD + r"(?:\s+" + WORD + r")?)")
GAZETTEER = re.compile(r"\b(" + "|".join(sorted(FIRST_NAMES, key=len, reverse=True)) + r")\b"
                       r"(?:\s+([A-Za-z][a-zA-Z'-]+))?")
LEADING_WORDS = re.compile(r"^\s*(?:(?:yes|sure|ok|okay|it's|it is|this is|i am|i'm|my name is)[,.!]?\s+)*"
                           r"([A-Za-z][a-zA-Z'-]*(?:\s+[A-Za-z][a-zA-Z'-]*){0,2})", re.I)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _is_name_word(word: str) -> bool:
    core = word.replace("'", "").replace("-", "")
    return core.isalpha() and not core.isupper() and word.lower() not in _LOWER_NOT_NAMES


_LOWER_NOT_NAMES = {w.lower() for w in NOT_NAMES} | {
    "my", "pin", "and", "the", "is", "was", "but", "account", "number", "please", "thanks", "thank", "you",
    "i", "forgot", "can't", "cannot", "dont", "don't", "want", "need", "would", "like", "for", "to", "at", "in",
    "on", "of", "with", "a", "an", "it", "that", "this", "here", "hi", "hello", "yes", "no", "sure", "ok",
}


def _name_span(words: str) -> str | None:
    """The leading run of words in `words` that can be a person's name, or None."""
    taken = []
    for w in words.split():
        if not _is_name_word(w):
            break
        taken.append(w)
    return " ".join(taken) or None


class Anonymiser:
    """Applies the rules to text; counts what it replaced by placeholder type."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.known_names: set[str] = set()  # names seen in this conversation, caught again when repeated

    def new_conversation(self) -> None:
        self.known_names = set()

    def _sub(self, kind: str, pattern: re.Pattern, text: str, group: int = 0,
             accept: Callable[[re.Match], bool] | None = None) -> str:
        def repl(m: re.Match) -> str:
            if accept is not None and not accept(m):
                return m.group(0)
            self.counts[kind] += 1
            if group == 0:
                return f"[{kind}]"
            s, e = m.span(group)
            return m.group(0)[: s - m.start()] + f"[{kind}]" + m.group(0)[e - m.start():]

        return pattern.sub(repl, text)

    def text(self, text: str, previous: str | None = None) -> str:
        """Anonymise one turn; `previous` is the turn before it (what was asked)."""
        text = self._sub("EMAIL", EMAIL, text)
        text = self._sub("IBAN", IBAN, text)
        text = self._long_numbers(text)
        for pattern in PHONES:
            text = self._sub("PHONE", pattern, text)
        text = self._pins(text)
        text = self._sub("ACCOUNT", ACCOUNT_CONTEXT, text, group=1)
        text = self._sub("ACCOUNT", BARE_NUMBER, text)
        for pattern in ADDRESSES:
            text = self._sub("ADDRESS", pattern, text)
        text = ADJACENT_ADDRESSES.sub("[ADDRESS]", text)  # "221B Baker Street, London NW1 6XE" is one
        if DOB_CONTEXT.search(text) or (previous and DOB_CONTEXT.search(previous)):
            text = self._sub("DOB", DATE, text)
        return self._names(text, previous)

    def _long_numbers(self, text: str) -> str:
        def repl(m: re.Match) -> str:
            digits = re.sub(r"\D", "", m.group(0))
            kind = "CARD" if luhn_ok(digits) else "ACCOUNT"
            self.counts[kind] += 1
            trailing = m.group(0)[len(m.group(0).rstrip(" -")):]
            return f"[{kind}]{trailing}"

        return LONG_NUMBER.sub(repl, text)

    def _pins(self, text: str) -> str:
        def repl(m: re.Match) -> str:
            s, e = m.span(1)
            inner = re.sub(r"\d{4,6}\b", lambda _: self._count("PIN"), m.group(1))
            return m.group(0)[: s - m.start()] + inner + m.group(0)[e - m.start():]

        return PIN.sub(repl, text)

    def _count(self, kind: str) -> str:
        self.counts[kind] += 1
        return f"[{kind}]"

    def _name(self, words: str) -> str:
        """Count a name, remember its words for later turns, return the placeholder."""
        self.known_names.update(w for w in re.findall(r"[A-Za-z][A-Za-z'-]+", words) if len(w) > 2
                                and w.lower() not in _LOWER_NOT_NAMES)
        return self._count("NAME")

    def _names(self, text: str, previous: str | None) -> str:
        text = HONORIFIC.sub(lambda m: f"{m.group(1)}{m.group(2)}{self._name(m.group(3))}", text)

        def intro(m: re.Match) -> str:
            span = _name_span(m.group(1))
            if not span:
                return m.group(0)
            s = m.start(1) - m.start()
            return m.group(0)[:s] + self._name(span) + m.group(0)[s + len(span):]

        text = STRONG_INTRO.sub(intro, text)
        text = WEAK_INTRO.sub(intro, text)

        def gazetteer(m: re.Match) -> str:
            surname = m.group(2)
            if surname and (surname.lower() in SURNAMES or (surname[0].isupper() and _is_name_word(surname))):
                return self._name(m.group(0))
            return self._name(m.group(1)) + m.group(0)[len(m.group(1)):]

        text = GAZETTEER.sub(gazetteer, text)
        if previous and ASKS_NAME.search(previous) and ("?" in previous or "please" in previous.lower()):
            text = self._answer_to_name_question(text)
        if self.known_names:
            known = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(self.known_names))) + r")\b", re.I)
            text = known.sub(lambda m: self._count("NAME"), text)
        return text

    def _answer_to_name_question(self, text: str) -> str:
        m = LEADING_WORDS.match(text)
        if not m:
            return text
        span = _name_span(m.group(1))
        short_reply = len(text.split()) <= 3
        if not span or not (span[0].isupper() or short_reply):
            return text
        s = m.start(1)
        return text[:s] + self._name(span) + text[s + len(span):]


def anonymise_text(text: str, previous: str | None = None) -> str:
    return Anonymiser().text(text, previous)


def anonymise_conversations(conversations: list[dict]) -> tuple[list[dict], dict]:
    """New conversations with every turn anonymised, and how many of each placeholder were put in."""
    anon = Anonymiser()
    out = []
    for conv in conversations:
        anon.new_conversation()
        turns, previous = [], None
        for turn in conv["turns"]:
            turns.append({**turn, "text": anon.text(turn["text"], previous)})
            previous = turn["text"]
        out.append({**conv, "turns": turns})
    return out, {f"[{k}]": anon.counts.get(k, 0) for k in PLACEHOLDERS}
