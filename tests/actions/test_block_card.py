"""The lost/stolen card form: validation through rasa_sdk's real FormValidationAction, and
action_block_card writing the block to a real SQLite file (and to PostgreSQL)."""

from __future__ import annotations

import sqlite3

import pytest
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.bank import BankBackend, BankUnavailable
from actions.block_card import ActionBlockCard, ValidateBlockCardForm, extract_last4, read_confirmation
from actions.handoff import ActionHandoff
from actions.one_time_codes import OneTimeCodes
from tests.actions.trackers import make_tracker, payloads, responses, texts


@pytest.mark.parametrize(
    "text, last4",
    [
        ("4821", "4821"),
        ("it ends in 4821", "4821"),
        ("the last four are 4 8 2 1.", "4821"),
        ("card number 4000 1234 5678 9010", "9010"),
        ("0093", "0093"),
        ("48213", None),
        ("12", None),
        ("1234 or 5678, not sure", None),
        ("", None),
        (None, None),
    ],
)
def test_extract_last4(text, last4):
    assert extract_last4(text) == last4


@pytest.mark.parametrize(
    "value, answer",
    [(True, True), (False, False), ("yes please", True), ("Go ahead", True), ("nope", False),
     ("no, wait", False), ("not sure", None), ("what happens then?", None), (None, None)],
)
def test_read_confirmation(value, answer):
    assert read_confirmation(value) == answer


async def validate(domain, text, intent, requested, value, tmp_path) -> tuple[list, CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text, intent, active_loop="block_card_form", slots={"requested_slot": requested},
                           slot_events={requested: value})
    codes = OneTimeCodes(BankBackend(f"sqlite:///{tmp_path / 'bank.db'}"))
    events = await ValidateBlockCardForm(codes).run(dispatcher, tracker, domain)
    return events, dispatcher


async def test_digits_are_read_out_of_the_customers_words(domain, tmp_path):
    events, d = await validate(domain, "it ends with 4821", "inform", "card_last4", "it ends with 4821", tmp_path)
    assert SlotSet("card_last4", "4821") in events
    assert d.messages == []


async def test_text_without_four_digits_is_refused_with_an_explanation(domain, tmp_path):
    events, d = await validate(domain, "the blue one", "inform", "card_last4", "the blue one", tmp_path)
    assert SlotSet("card_last4", None) in events
    assert responses(d) == ["utter_invalid_card_last4"]


@pytest.mark.parametrize("text, intent", [("never mind", "inform"), ("no", "deny"), ("cancel", "cancel_transfer")])
async def test_cancelling_ends_the_form_without_blocking(domain, text, intent, tmp_path):
    events, d = await validate(domain, text, intent, "card_last4", text, tmp_path)
    assert SlotSet("requested_slot", None) in events and SlotSet("block_confirmed", False) in events
    assert d.messages == []


async def test_typed_confirmation_is_understood(domain, tmp_path):
    events, _ = await validate(domain, "yes please", "affirm_misread", "block_confirmed", "yes please", tmp_path)
    assert SlotSet("block_confirmed", True) in events


async def test_unclear_confirmation_is_asked_again(domain, tmp_path):
    events, d = await validate(domain, "what happens then?", "card_arrival", "block_confirmed", "what happens then?", tmp_path)
    assert SlotSet("block_confirmed", None) in events
    assert responses(d) == ["utter_invalid_block_confirmed"]


async def run_block(bank, slots, sender="conversation-1", user: str | None = "customer-1"
                    ) -> tuple[list, CollectingDispatcher]:
    """The action after the form, for a customer the host site verified as `user` (None: anonymous)."""
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("/affirm", "affirm", slots=slots, sender_id=sender,
                           metadata={"turn_id": 1, **({"verified_user_id": user} if user else {})})
    events = await ActionBlockCard(bank, OneTimeCodes(bank)).run(dispatcher, tracker, {})
    return events, dispatcher


def rows(db_path) -> list[tuple]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(
            "SELECT customer_id, card_last4, status, reason, reference FROM bank_card_blocks ORDER BY id"
        ).fetchall()


async def test_confirmed_block_is_recorded_in_the_bank_table(tmp_path):
    db = tmp_path / "bank.db"
    bank = BankBackend(f"sqlite:///{db}")
    events, d = await run_block(bank, {"card_last4": "4821", "block_confirmed": True})
    assert responses(d) == ["utter_card_blocked"]
    [(customer, last4, status, reason, reference)] = rows(db)
    assert (customer, last4, status, reason) == ("customer-1", "4821", "blocked", "lost_or_stolen")
    assert d.messages[0]["reference"] == reference and d.messages[0]["card_last4"] == "4821"
    assert payloads(d)[0]["card_block"] == {"reference": reference, "card_last4": "4821", "status": "blocked",
                                            "already_blocked": False}
    assert SlotSet("card_last4", None) in events and SlotSet("block_confirmed", None) in events

    events, d = await run_block(bank, {"card_last4": "4821", "block_confirmed": True})  # asked again
    assert responses(d) == ["utter_card_already_blocked"] and len(rows(db)) == 1


@pytest.mark.parametrize("slots", [{"card_last4": "4821", "block_confirmed": False},
                                   {"card_last4": None, "block_confirmed": False},
                                   {"card_last4": "48", "block_confirmed": True}])
async def test_nothing_is_blocked_without_confirmation_and_valid_digits(tmp_path, slots):
    db = tmp_path / "bank.db"
    _, d = await run_block(BankBackend(f"sqlite:///{db}"), slots)
    assert responses(d) == ["utter_block_cancelled"]
    assert not db.exists()  # the backend was never touched


async def test_the_card_block_refuses_an_unverified_customer(tmp_path):
    db = tmp_path / "bank.db"
    events, d = await run_block(BankBackend(f"sqlite:///{db}"), {"card_last4": "4821", "block_confirmed": True},
                                user=None)
    assert "log in" in texts(d)[0] and payloads(d)[0]["error"] == "identity_required"
    assert not db.exists()  # the bank was never asked
    assert SlotSet("card_last4", None) in events  # the form starts afresh next time


async def test_dead_bank_database_gets_a_polite_reply(tmp_path):
    dead = BankBackend("postgresql://postgres@127.0.0.1:1/nowhere")  # nothing listens on port 1
    _, d = await run_block(dead, {"card_last4": "4821", "block_confirmed": True})
    assert responses(d) == ["utter_block_failed"]
    assert payloads(d)[0]["error"] == "bank_unavailable"


def test_bank_rejects_malformed_digits_and_reports_unreachable_database(tmp_path):
    bank = BankBackend(f"sqlite:///{tmp_path / 'bank.db'}")
    with pytest.raises(ValueError, match="exactly four digits"):
        bank.block_card("c", "48a1")
    with pytest.raises(BankUnavailable, match="SUPPORTBOT_DATABASE_URL") as failure:
        BankBackend("postgresql://postgres:secret@127.0.0.1:1/nowhere").block_card("c", "1234")
    assert "secret" not in str(failure.value)  # the password never reaches logs or replies


@pytest.mark.postgres
def test_bank_table_on_postgresql(postgres_url):
    bank = BankBackend(postgres_url)
    first = bank.block_card("customer-9", "1111")
    again = bank.block_card("customer-9", "1111")
    other = bank.block_card("customer-9", "2222")
    assert (first["already_blocked"], again["already_blocked"], other["already_blocked"]) == (False, True, False)
    assert [b["card_last4"] for b in bank.blocks("customer-9")] == ["1111", "2222"]
    bank.dispose()


async def test_handoff_announces_and_stops_the_form():
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("/request_human", "request_human", active_loop="block_card_form",
                           slots={"requested_slot": "card_last4"})
    events = await ActionHandoff().run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_handoff"]
    assert payloads(dispatcher) == [{"handoff": True, "reason": "customer_request", "sources": []}]
    assert ActiveLoop(None) in events and SlotSet("requested_slot", None) in events
