"""The training-data path (finetune.preprocess → privacy.conversations) with the real PII engine:
planted personal data comes out as typed placeholders with none of it left, ordinary support talk
comes out untouched, and learnt replies still fill from slots."""

from __future__ import annotations

import json
import re

import pytest

from finetune.preprocess import preprocess
from finetune.templates import choose_reply, fill_placeholders
from privacy import get_engine
from privacy.conversations import redact_conversations

# (text, the turn before it or None, planted values, placeholders expected)
PLANTED = [
    ("You can reach me at jane.doe@example.co.uk", None, ["jane.doe@example.co.uk"], ["EMAIL"]),
    ("mail: J_Smith+support@mail.example.org, thanks", None, ["J_Smith+support@mail.example.org"], ["EMAIL"]),
    ("Call me on +44 20 7946 0958 after 5", None, ["+44 20 7946 0958"], ["PHONE"]),
    ("my cell is (555) 123-4567", None, ["(555) 123-4567"], ["PHONE"]),
    ("It's 555-867-5309 or 020 7946 0018", None, ["555-867-5309", "020 7946 0018"], ["PHONE"]),
    ("mobile 07700 900123", None, ["07700 900123"], ["PHONE"]),
    ("Phone: +1 415.555.2671", None, ["+1 415.555.2671"], ["PHONE"]),
    ("My card number is 4111 1111 1111 1111", None, ["4111 1111 1111 1111"], ["CARD"]),
    ("card 5500-0000-0000-0004 was charged twice", None, ["5500-0000-0000-0004"], ["CARD"]),
    ("Amex 378282246310005 please", None, ["378282246310005"], ["CARD"]),
    ("account number is 85731890", None, ["85731890"], ["ACCOUNT"]),
    ("Acct #: AC-99812 was frozen", None, ["AC-99812"], ["ACCOUNT"]),
    ("my customer reference 2024-77-1931 is on the letter", None, ["2024-77-1931"], ["ACCOUNT"]),
    ("68318931, but I can't remember my PIN.", None, ["68318931"], ["ACCOUNT"]),
    ("my PIN is either 7402 or 3941", None, ["7402", "3941"], ["PIN"]),
    ("IBAN GB82 WEST 1234 5698 7654 32 is mine", None, ["GB82 WEST 1234 5698 7654 32"], ["IBAN"]),
    ("send it to DE89370400440532013000", None, ["DE89370400440532013000"], ["IBAN"]),
    ("NL91 ABNA 0417 1643 00 is the new one", None, ["NL91 ABNA 0417 1643 00"], ["IBAN"]),
    ("I live at 221B Baker Street, London NW1 6XE", None, ["221B Baker Street", "NW1 6XE"], ["ADDRESS"]),
    ("ship to 42 Elm St., Springfield, IL 62704 please", None, ["42 Elm St", "Springfield", "62704"], ["ADDRESS"]),
    ("new address: 1600 Pennsylvania Avenue NW, Washington, DC 20500", None,
     ["1600 Pennsylvania Avenue", "20500"], ["ADDRESS"]),
    ("P.O. Box 1234 is fine", None, ["Box 1234"], ["ADDRESS"]),
    ("i moved to 12 oak lane last week", None, ["12 oak lane"], ["ADDRESS"]),
    ("Hi, my name is Priyanka Ramaswamy", None, ["Priyanka", "Ramaswamy"], ["NAME"]),
    ("This is Olumide Bakare calling about a refund", None, ["Olumide", "Bakare"], ["NAME"]),
    ("I spoke to Mr. Kowalczyk yesterday", None, ["Kowalczyk"], ["NAME"]),
    ("sarah brown", "May I have your name, please?", ["sarah", "brown"], ["NAME"]),
    ("Zoltan Farkas 351531510 I can't remember my pin", "Could I get your full name, please?",
     ["Zoltan", "Farkas"], ["NAME"]),
    ("09/22/1993", "Could you provide your date of birth, please?", ["09/22/1993"], ["DOB"]),
    ("the cvv is 737", None, ["737"], ["CVV"]),
    ("my IP is 203.0.113.54", None, ["203.0.113.54"], ["IP"]),
    ("SSN 536-90-4399", None, ["536-90-4399"], ["NATIONAL_ID"]),
]

BENIGN = [
    "May I have your name, please?",
    "The card ends in 4821, can you freeze it?",
    "Table for 4 at 7pm on Tuesday, please.",
    "Your current balance is 6417 in credit.",
    "Walk east for 10 minutes on University Boulevard.",
    "Will the transfer arrive by June?",
    "I was charged $1,250.00 twice on 12/03.",
    "Is there anything else that I can do for you?",
    "My order #4417203 from the Berlin store totals €1.249,99.",
]


def digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def redact(text: str, previous: str | None = None) -> str:
    return get_engine().redact(text, previous=previous).text


def test_planted_pii_is_replaced_by_typed_placeholders_and_none_is_left():
    leaks, missing_types = [], []
    for text, previous, values, kinds in PLANTED:
        out = redact(text, previous)
        for value in values:
            if value in out or (len(digits(value)) >= 4 and digits(value) in digits(out)):
                leaks.append((text, value, out))
            if {"NAME", "ADDRESS"} & set(kinds):  # no part of a name or street survives
                leaks += [(text, w, out) for w in re.findall(r"[A-Za-z]{3,}", value)
                          if re.search(rf"\b{w}\b", out, re.I) and w.lower() != "box"]
        missing_types += [(text, k, out) for k in kinds if f"[{k}]" not in out]
    assert not leaks, leaks
    assert not missing_types, missing_types


@pytest.mark.parametrize("text", BENIGN)
def test_ordinary_support_text_is_left_alone(text):
    assert redact(text) == text


def test_a_name_learnt_in_one_turn_is_removed_from_later_turns_and_counted():
    conv = {"conversation_id": "x", "turns": [
        {"speaker": "agent", "text": "Could I get your name, please?"},
        {"speaker": "customer", "text": "Rhiannon Okafor, email rhiannon.o@example.net"},
        {"speaker": "agent", "text": "Thank you Rhiannon, I have sent it to your email."},
    ]}
    [out], counts = redact_conversations([conv])
    dumped = json.dumps(out)
    assert "Rhiannon" not in dumped and "Okafor" not in dumped and "example.net" not in dumped
    assert out["turns"][2]["text"] == "Thank you [NAME], I have sent it to your email."
    assert counts["[NAME]"] == 2 and counts["[EMAIL]"] == 1
    assert conv["turns"][1]["text"].startswith("Rhiannon")  # input untouched


def test_preprocess_reports_placeholders_of_every_kind():
    conv = {"conversation_id": "y", "turns": [
        {"speaker": "customer", "text": "Hallo, ich heiße Jürgen Weber, meine IBAN ist DE89370400440532013000"},
        {"speaker": "agent", "text": "Danke, Herr Weber. Wir prüfen das."},
    ]}
    [out], report = preprocess([conv], min_turns=2)
    assert [t["text"] for t in out["turns"]] == ["Hallo, ich heiße [NAME], meine IBAN ist [IBAN]",
                                                 "Danke, Herr [NAME]. Wir prüfen das."]
    assert report["anonymisation"]["[IBAN]"] == 1 and report["anonymisation"]["[NAME]"] == 2
    assert set(report["anonymisation"]) >= {"[CVV]", "[NATIONAL_ID]", "[IP]"}


def test_templates_keep_placeholders_and_are_filled_from_slots():
    text, missing = fill_placeholders("Thank you [NAME], the card [CARD] is frozen.",
                                      {"customer_name": "Ana", "card_last4": "4821"})
    assert text == "Thank you Ana, the card ending in 4821 is frozen." and missing == []
    text, missing = fill_placeholders("Thank you, [NAME]. Your PIN [PIN] is reset.", {})
    assert missing == ["NAME", "PIN"]
    assert "[" not in text and text == "Thank you. Your PIN is reset."
    # a second person in the conversation has no slot; security codes are never repeated
    text, missing = fill_placeholders("Thanks [NAME], I told [NAME_2]. CVV [CVV] noted.", {"customer_name": "Ana"})
    assert text == "Thanks Ana, I told. CVV noted." and missing == ["NAME", "CVV"]


def test_the_action_prefers_a_close_candidate_it_can_fill_over_a_hole():
    selection = {"reply": "Thank you, [NAME]. Your card is frozen.", "score": 0.80,
                 "candidates": [{"text": "Thank you, [NAME]. Your card is frozen.", "score": 0.80},
                                {"text": "Your card [CARD] is frozen now.", "score": 0.78},
                                {"text": "Your card is frozen.", "score": 0.60}]}
    assert choose_reply(selection, {"customer_name": "Ana"}) == (
        "Thank you, Ana. Your card is frozen.", "Thank you, [NAME]. Your card is frozen.")
    assert choose_reply(selection, {"card_last4": "4821"})[0] == "Your card ending in 4821 is frozen now."
    # nothing fillable within 0.05 of the top: the top reply, its hole tidied away
    assert choose_reply(selection, {})[0] == "Thank you. Your card is frozen."
