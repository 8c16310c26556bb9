"""The step-up before a card block: one-time codes of the sample bank on a real SQLite file, and the
form's validator and action_block_card over them (the dialogue through real Rasa:
tests/actions/test_rasa_project.py; through the whole platform: tests/contract/test_demo_bot.py)."""

from __future__ import annotations

import re
import sqlite3
import time

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.bank import BankBackend, normalise_contact
from actions.block_card import (
    ActionAskStepupCode,
    ActionBlockCard,
    ValidateBlockCardForm,
    extract_code,
)
from actions.one_time_codes import OneTimeCodes, StepUpLimits
from tests.actions.trackers import make_tracker, payloads, responses

DANA = ("hb-100001", "dana.demo@example.com", "+447700900123")  # a sample customer with cards 4821 and 7310


@pytest.fixture
def bank(tmp_path):
    bank = BankBackend(f"sqlite:///{tmp_path / 'bank.db'}")
    yield bank
    bank.dispose()


def sent_code(bank: BankBackend, customer: str = DANA[0]) -> str:
    """The code in the latest text or e-mail the bank sent the customer (what they read on their phone)."""
    return re.search(r"\b(\d{6})\b", bank.outbox(customer)[-1]["body"]).group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


@pytest.mark.parametrize("typed, found", [
    ("Dana.Demo@Example.com", ("email", "dana.demo@example.com")), ("+44 7700 900123", ("sms", "+447700900123")),
    ("0044 (7700) 900-123", ("sms", "+447700900123")), ("my card", None), ("123", None), ("", None)])
def test_contacts_are_read_as_typed(typed, found):
    assert normalise_contact(typed) == found


@pytest.mark.parametrize("typed, code", [("123456", "123456"), ("it's 123 456", "123456"), ("12345", None),
                                         ("1234567", None), ("111111 or 222222", None), ("", None)])
def test_codes_are_read_as_typed(typed, code):
    assert extract_code(typed) == code


def test_a_code_goes_to_the_registered_contact_only_and_is_kept_hashed(bank, tmp_path):
    codes = OneTimeCodes(bank)
    assert codes.start("conv-1", "+44 7700 900123", "4821") == {"status": "sent"}
    [message] = bank.outbox(DANA[0])
    assert (message["channel"], message["address"]) == ("sms", "+447700900123")
    code = sent_code(bank)
    with sqlite3.connect(tmp_path / "bank.db") as conn:
        stored = conn.execute("SELECT code_hash, salt, customer_id FROM bank_otp_challenges").fetchall()
    assert len(stored) == 1 and stored[0][2] == DANA[0]
    assert code not in " ".join(stored[0][:2])  # only a salted hash of the code is kept

    # the same answer when nothing matches (a contact nobody registered, or a card Dana does not hold):
    # the visitor cannot tell which contacts exist, nothing is sent, and no code can pass
    assert codes.start("conv-2", "someone@example.com", "4821") == {"status": "sent"}
    assert codes.start("conv-3", DANA[1], "5555") == {"status": "sent"}
    assert len(bank.outbox(DANA[0])) == 1
    assert codes.verify("conv-3", code)["status"] == "wrong"


def test_right_code_verifies_once_for_that_card(bank):
    codes = OneTimeCodes(bank)
    codes.start("conv-1", DANA[1], "4821")
    code = sent_code(bank)
    assert codes.verify("conv-1", wrong(code)) == {"status": "wrong", "attempts_left": 2}
    assert codes.verify("conv-1", code) == {"status": "verified"}
    assert codes.verify("conv-1", code) == {"status": "no_challenge"}  # a code verifies once
    assert codes.consume("conv-1", "7310") is None  # not for another card
    assert codes.consume("other-conversation", "4821") is None  # nor for another conversation
    assert codes.consume("conv-1", "4821") == DANA[0]
    assert codes.consume("conv-1", "4821") is None  # one verification, one account action


def test_attempts_are_bounded_per_conversation_even_with_new_codes(bank):
    codes = OneTimeCodes(bank, StepUpLimits(max_attempts=3, card_max_failures=10))
    codes.start("conv-1", DANA[1], "4821")
    code = sent_code(bank)
    assert [codes.verify("conv-1", wrong(code))["status"] for _ in range(2)] == ["wrong", "wrong"]
    assert codes.verify("conv-1", wrong(code)) == {"status": "locked", "scope": "conversation"}
    assert codes.start("conv-1", DANA[1], "4821") == {"status": "locked", "scope": "conversation"}
    assert len(bank.outbox(DANA[0])) == 1  # no new code sent to a locked conversation
    assert codes.verify("conv-1", code)["status"] == "no_challenge"  # the right code is too late


def test_attempts_are_bounded_per_card_across_conversations(bank):
    codes = OneTimeCodes(bank, StepUpLimits(max_attempts=3, card_max_failures=5))
    results = []
    for conv in ("a", "b", "c"):  # an attacker switching conversations: 2 guesses each stay under 3
        codes.start(conv, DANA[1], "4821")
        results += [codes.verify(conv, "000000")["status"], codes.verify(conv, "000001")["status"]]
    assert results[:4] == ["wrong"] * 4 and results[4] == "locked"
    assert codes.start("d", DANA[1], "4821") == {"status": "locked", "scope": "card"}
    assert codes.start("d", DANA[1], "7310") == {"status": "sent"}  # Dana's other card is not affected


def test_codes_sent_per_card_are_capped(bank):
    codes = OneTimeCodes(bank, StepUpLimits(card_max_failures=3))
    assert [codes.start(f"c{i}", DANA[2], "4821")["status"] for i in range(4)] == ["sent"] * 3 + ["locked"]
    assert len(bank.outbox(DANA[0])) == 3


def test_an_expired_code_is_refused(bank):
    codes = OneTimeCodes(bank, StepUpLimits(code_ttl_s=0.2))
    codes.start("conv-1", DANA[1], "4821")
    time.sleep(0.3)
    assert codes.verify("conv-1", sent_code(bank)) == {"status": "expired"}


def test_registering_a_customer_checks_the_data(bank):
    bank.add_customer("c-7", email="kim@example.net", phone="+49 151 2345 6789", cards=["1111"])
    OneTimeCodes(bank).start("x", "+4915123456789", "1111")
    assert bank.outbox("c-7")[0]["address"] == "+4915123456789"
    with pytest.raises(ValueError, match="last four digits"):
        bank.add_customer("c-8", cards=["12345"])
    with pytest.raises(ValueError, match="8 to 15 digits"):
        bank.add_customer("c-9", phone="12")


# -- the form and the block over the real codes -----------------------------------------------------
async def run_validator(codes, requested, text, slots, sender="conv-1", user=None):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text, "inform", active_loop="block_card_form", sender_id=sender,
                           slots={"requested_slot": requested, **slots}, slot_events={requested: text},
                           metadata={"verified_user_id": user} if user else None)
    return await ValidateBlockCardForm(codes).run(dispatcher, tracker, {"forms": FORM}), dispatcher


FORM = {"block_card_form": {"required_slots": ["card_last4", "block_confirmed", "stepup_contact", "stepup_code"]}}


async def test_the_form_sends_and_checks_the_code_then_the_block_is_for_that_customer(bank):
    codes = OneTimeCodes(bank)
    slots = {"card_last4": "4821", "block_confirmed": True}
    events, d = await run_validator(codes, "stepup_contact", "not an address", slots)
    assert responses(d) == ["utter_invalid_stepup_contact"] and SlotSet("stepup_contact", None) in events
    events, d = await run_validator(codes, "stepup_contact", DANA[1], slots)
    assert SlotSet("stepup_contact", "given") in events and d.messages == []  # the address is not kept
    code = sent_code(bank)

    ask = CollectingDispatcher()
    await ActionAskStepupCode().run(ask, make_tracker(), {})
    assert responses(ask) == ["utter_ask_stepup_code"] and payloads(ask)[0]["secret_input"] == "one_time_code"

    events, d = await run_validator(codes, "stepup_code", wrong(code), {**slots, "stepup_contact": "given"})
    assert responses(d) == ["utter_stepup_code_wrong"] and d.messages[0]["attempts_left"] == 2
    assert SlotSet("stepup_code", None) in events
    events, d = await run_validator(codes, "stepup_code", code, {**slots, "stepup_contact": "given"})
    assert SlotSet("stepup_code", "verified") in events  # the slot never holds the code
    assert all(code not in str(e.get("value")) for e in events if e.get("name") == "stepup_code")

    dispatcher = CollectingDispatcher()
    tracker = make_tracker("123", "inform", sender_id="conv-1",
                           slots={**slots, "stepup_contact": "given", "stepup_code": "verified"})
    await ActionBlockCard(bank, codes).run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_card_blocked"]
    assert [(b["customer_id"], b["card_last4"]) for b in bank.blocks(DANA[0])] == [(DANA[0], "4821")]


async def test_a_stepup_slot_set_without_the_banks_verification_blocks_nothing(bank):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("x", "inform", sender_id="conv-9",
                           slots={"card_last4": "4821", "block_confirmed": True, "stepup_code": "verified"})
    await ActionBlockCard(bank, OneTimeCodes(bank)).run(dispatcher, tracker, {})
    assert payloads(dispatcher)[0]["error"] == "identity_required"
    assert bank.blocks(DANA[0]) == []


async def test_too_many_wrong_codes_stop_the_form(bank):
    codes = OneTimeCodes(bank, StepUpLimits(max_attempts=2))
    slots = {"card_last4": "4821", "block_confirmed": True, "stepup_contact": "given"}
    await run_validator(codes, "stepup_contact", DANA[1], {"card_last4": "4821", "block_confirmed": True})
    await run_validator(codes, "stepup_code", "000000", slots)
    events, d = await run_validator(codes, "stepup_code", "000001", slots)
    assert responses(d) == ["utter_stepup_locked"] and payloads(d)[0]["error"] == "stepup_locked"
    assert SlotSet("requested_slot", None) in events and SlotSet("block_confirmed", False) in events


async def test_a_verified_customer_is_not_asked_the_stepup_questions(bank):
    events, _ = await run_validator(OneTimeCodes(bank), "block_confirmed", "yes", {"card_last4": "4821"},
                                    user="u-42")
    assert SlotSet("block_confirmed", True) in events
    assert SlotSet("requested_slot", None) in events  # done: the form ends, action_block_card runs
    events, _ = await run_validator(OneTimeCodes(bank), "block_confirmed", "yes", {"card_last4": "4821"})
    assert SlotSet("requested_slot", None) not in events  # anonymous: Rasa asks for the contact next
