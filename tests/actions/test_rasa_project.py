"""The demo bot's Rasa files: consistent with Banking77 and the actions, valid for Rasa 3.6, and
driving the real Rasa server through the rules and the lost-card form.

The dialogue test trains only the dialogue part (`rasa train core`, ~40 s): messages are sent as
`/intent{entities}` payloads, so it checks our rules, form and actions whatever NLU is configured.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import subprocess
import sys

import httpx
import pytest
import yaml

from bot.processes import TRACKER_STORE
from core.settings import ROOT
from tests.actions.test_catalog import banking77_topics
from tests.support import RASA_BIN, free_port, start, stop, wait_http

CONVERSATIONAL = {"greet", "goodbye", "thank", "affirm", "deny", "request_human", "bot_challenge",
                  "out_of_scope", "inform"}
PAYLOAD_ONLY = {"show_full_article"}  # sent by a KB answer's button, never typed


@functools.lru_cache(maxsize=1)
def rules() -> list[dict]:
    return yaml.safe_load((ROOT / "data" / "rules.yml").read_text())["rules"]


def first_action_after(intent: str, with_entities: bool = False) -> set[str]:
    """Actions that unconditional rules run right after `intent` (with or without entities)."""
    found = set()
    for rule in rules():
        steps = rule["steps"]
        for i, step in enumerate(steps[:-1]):
            if step.get("intent") == intent and "condition" not in rule and ("entities" in step) == with_entities:
                found.add(steps[i + 1]["action"])
    return found


def test_domain_intents_are_banking77_plus_the_conversational_ones(domain):
    assert set(domain["intents"]) == banking77_topics() | CONVERSATIONAL | PAYLOAD_ONLY
    assert len(domain["intents"]) == len(set(domain["intents"]))


def test_every_banking_intent_goes_to_the_knowledge_base_and_lost_card_to_the_form():
    for intent in banking77_topics() - {"lost_or_stolen_card"}:
        assert first_action_after(intent) == {"action_answer_question"}, intent
    assert first_action_after("lost_or_stolen_card") == {"block_card_form"}
    assert first_action_after("request_human") == {"action_handoff"}
    assert first_action_after("nlu_fallback") == {"action_answer_question"}
    assert first_action_after("out_of_scope") == {"action_answer_question"}  # KB, or a polite refusal
    assert first_action_after("show_full_article") == {"action_show_full_article"}
    assert first_action_after("inform", with_entities=True) == {"block_card_form"}
    for intent in CONVERSATIONAL - {"request_human", "out_of_scope"}:
        [action] = first_action_after(intent)
        assert action.startswith("utter_"), intent


def responses_used_by_actions() -> set[str]:
    names = set()
    for path in (ROOT / "actions").glob("*.py"):
        names |= set(re.findall(r'"(utter_\w+)"', path.read_text()))
    return names


def test_responses_the_actions_use_exist_and_greeting_has_quick_replies(domain):
    responses = domain["responses"]
    assert responses_used_by_actions() <= set(responses)
    assert len(responses["utter_greet"][0]["buttons"]) >= 3
    for name in ("utter_ask_card_last4", "utter_ask_block_confirmed", "utter_ask_stepup_contact"):  # asked by the form
        assert name in responses


@pytest.mark.slow  # runs Rasa (validate, or `rasa train core`)
def test_rasa_data_validate_finds_no_problem():
    """The real validator over domain, rules, stories and data/nlu + config.yml."""
    out = subprocess.run([str(RASA_BIN), "data", "validate"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    warnings = re.findall(r"UserWarning: (.+)", out.stdout + out.stderr)
    unused = {m for w in warnings for m in re.findall(r"The utterance '(\w+)' is not used in any story or rule", w)}
    payload_only = [f"The intent '{i}' is listed in the domain file, but is not found in the NLU training data."
                    for i in sorted(PAYLOAD_ONLY)]  # sent by buttons only: no examples to learn, on purpose
    other = [w for w in warnings if "is not used in any story or rule" not in w and w not in payload_only]
    assert other == [], other
    # Utterances only actions and forms send are expected to be "unused" by stories and rules.
    assert unused <= responses_used_by_actions() | {"utter_ask_card_last4", "utter_ask_block_confirmed",
                                                    "utter_ask_stepup_contact"}


# -- the real Rasa server over the dialogue model ------------------------------------------------
@pytest.fixture(scope="module")
def rasa(tmp_path_factory, kb_dir, kb_index):
    tmp = tmp_path_factory.mktemp("rasa-dialogue")
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    (tmp / "config.yml").write_text(yaml.safe_dump({"recipe": "default.v1", "language": "en",
                                                   "assistant_id": "dialogue-test", "policies": config["policies"]}))
    trained = subprocess.run(
        [str(RASA_BIN), "train", "core", "--domain", "domain.yml", "--stories", "data",
         "--config", str(tmp / "config.yml"), "--out", str(tmp), "--fixed-model-name", "core"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
    action_port, rasa_port, db = free_port(), free_port(), tmp / "bank.db"
    tracker_db = tmp / "rasa_tracker.db"
    (tmp / "endpoints.yml").write_text(yaml.safe_dump({  # the domain only to actions that declare send_domain
        "action_endpoint": {"url": f"http://127.0.0.1:{action_port}/webhook", "enable_selective_domain": True,
                            "token": "rasa-project-test"},
        "tracker_store": {"type": TRACKER_STORE, "dialect": "sqlite", "db": str(tracker_db)}}))
    env = {"SUPPORTBOT_VAR_DIR": str(tmp), "SUPPORTBOT_KB_DIR": str(kb_dir),
           "SUPPORTBOT_DATABASE_URL": f"sqlite:///{db}", "SUPPORTBOT_ACTION_TOKEN": "rasa-project-test"}
    actions = start([sys.executable, "-m", "actions", "--port", str(action_port), "--index-dir", str(kb_index)],
                    tmp / "actions.log", env)
    server = start([str(RASA_BIN), "run", "--enable-api", "--model", str(tmp / "core.tar.gz"), "--port", str(rasa_port),
                    "--interface", "127.0.0.1", "--endpoints", str(tmp / "endpoints.yml"),
                    "--credentials", "credentials.yml"], tmp / "rasa.log", env)
    try:
        wait_http(f"http://127.0.0.1:{action_port}/health", timeout=180, proc=actions)
        wait_http(f"http://127.0.0.1:{rasa_port}/", timeout=180, proc=server)
        yield {"url": f"http://127.0.0.1:{rasa_port}", "db": db, "tracker_url": f"sqlite:///{tracker_db}"}
    finally:
        stop(server)
        stop(actions)


def say(rasa, sender: str, message: str, user: str | None = None) -> list[dict]:
    """One message; `user`: the verified host-site user the bot service would put in the metadata."""
    body = {"sender": sender, "message": message, **({"metadata": {"verified_user_id": user}} if user else {})}
    r = httpx.post(f"{rasa['url']}/webhooks/rest/webhook", json=body, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def text_of(replies: list[dict]) -> str:
    return " ".join(r.get("text", "") for r in replies)


def blocks(rasa, sender: str) -> list[tuple]:
    with sqlite3.connect(rasa["db"]) as conn:
        return conn.execute("SELECT card_last4, status FROM bank_card_blocks WHERE customer_id = ?", (sender,)).fetchall()


@pytest.mark.slow  # runs Rasa (validate, or `rasa train core`)
def test_greeting_and_a_kb_answer_through_rasa(rasa):
    greeting = say(rasa, "c1", "/greet")
    assert greeting[0]["buttons"]
    answer = say(rasa, "c1", "/top_up_by_bank_transfer_charge")
    assert "Source: Fees for topping up by bank transfer" in text_of(answer)
    custom = [r["custom"]["supportbot"] for r in answer if "custom" in r]
    assert custom[0]["sources"][0]["url"].endswith("/top-up-by-bank-transfer-charge")
    [button] = [b for r in answer for b in r.get("buttons") or [] if b["title"] == "Show the full article"]
    rest = text_of(say(rasa, "c1", button["payload"])).strip()  # Rasa parses the payload's entity
    assert rest.endswith("/top-up-by-bank-transfer-charge") and rest.split("\n\n")[0] not in text_of(answer)


@pytest.mark.slow  # runs Rasa (validate, or `rasa train core`)
def test_lost_card_form_blocks_the_card(rasa):
    assert "four digits" in text_of(say(rasa, "c2", "/lost_or_stolen_card"))
    assert "couldn't find the four digits" in text_of(say(rasa, "c2", "the blue one"))
    assert "ending in 4821" in text_of(say(rasa, "c2", "it ends in 4821"))
    assert "didn't catch that" in text_of(say(rasa, "c2", "hmm what happens then"))
    done = say(rasa, "c2", "/affirm", user="u-c2")
    assert "is now blocked" in text_of(done)
    assert blocks(rasa, "u-c2") == [("4821", "blocked")]  # recorded for the verified account
    assert "Hi, I'm the Harbor Bank assistant" in text_of(say(rasa, "c2", "/greet"))  # the form is over


@pytest.mark.slow  # runs Rasa (validate, or `rasa train core`)
def test_an_anonymous_customer_cannot_block_a_card(rasa):
    say(rasa, "c6", '/lost_or_stolen_card{"card_last4": "5555"}')
    assert "log in" in text_of(say(rasa, "c6", "/affirm"))  # or prove it with a code (the step-up)
    assert "haven't blocked any card" in text_of(say(rasa, "c6", "cancel"))
    assert blocks(rasa, "c6") == []


def sent_code(rasa, customer: str) -> str:
    """The one-time code in the latest text or e-mail the sample bank sent the customer."""
    with sqlite3.connect(rasa["db"]) as conn:
        [(body,)] = conn.execute("SELECT body FROM bank_outbox WHERE customer_id = ? ORDER BY id DESC LIMIT 1",
                                 (customer,)).fetchall()
    return re.search(r"\b(\d{6})\b", body).group(1)


def tracker_rows(rasa, sender: str) -> list[str]:
    with sqlite3.connect(rasa["tracker_url"].split(":///", 1)[1]) as conn:
        return [r[0] for r in conn.execute("SELECT data FROM events WHERE sender_id = ?", (sender,))]


@pytest.mark.slow  # runs Rasa (validate, or `rasa train core`)
def test_an_anonymous_visitor_passes_the_stepup_with_the_code_the_bank_sent(rasa):
    say(rasa, "c7", '/lost_or_stolen_card{"card_last4": "4821"}')
    assert "really you" in text_of(say(rasa, "c7", "/affirm"))
    assert "doesn't look like an e-mail" in text_of(say(rasa, "c7", "the blue one"))
    asked = say(rasa, "c7", "dana.demo@example.com")  # a sample customer holding a card ending 4821
    assert "6-digit code" in text_of(asked)
    assert [r["custom"]["supportbot"]["secret_input"] for r in asked if "custom" in r] == ["one_time_code"]
    code = sent_code(rasa, "hb-100001")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert "isn't right" in text_of(say(rasa, "c7", wrong))
    assert blocks(rasa, "hb-100001") == []  # a wrong code blocks nothing
    assert "is now blocked" in text_of(say(rasa, "c7", code))
    assert blocks(rasa, "hb-100001") == [("4821", "blocked")]  # for the customer the bank verified
    stored = tracker_rows(rasa, "c7")
    assert stored and not any(code in row or wrong in row for row in stored)  # neither code in Rasa's store
    assert sum("[ONE_TIME_CODE]" in row for row in stored) >= 2
    assert any("dana.demo@example.com" in row for row in stored)  # ordinary answers are kept as they were


@pytest.mark.slow  # runs Rasa (validate, or `rasa train core`)
def test_stepup_attempts_are_bounded_and_the_right_code_is_then_refused(rasa):
    say(rasa, "c8", '/lost_or_stolen_card{"card_last4": "9931"}')
    say(rasa, "c8", "/affirm")
    say(rasa, "c8", "+1 555 555 0142")
    code = sent_code(rasa, "hb-100002")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert "Tries left: 2" in text_of(say(rasa, "c8", wrong))
    assert "Tries left: 1" in text_of(say(rasa, "c8", wrong))
    locked = text_of(say(rasa, "c8", wrong))
    assert "can't check any more codes" in locked and "haven't blocked any card" in locked
    say(rasa, "c8", '/lost_or_stolen_card{"card_last4": "9931"}')  # starting again does not reset the count
    say(rasa, "c8", "/affirm")
    assert "can't check any more codes" in text_of(say(rasa, "c8", "+1 555 555 0142"))
    assert blocks(rasa, "hb-100002") == []


@pytest.mark.slow  # runs Rasa (validate, or `rasa train core`)
def test_a_verified_customer_skips_the_stepup(rasa):
    say(rasa, "c9", '/lost_or_stolen_card{"card_last4": "1357"}', user="u-c9")
    done = text_of(say(rasa, "c9", "/affirm", user="u-c9"))
    assert "is now blocked" in done and "really you" not in done
    assert blocks(rasa, "u-c9") == [("1357", "blocked")]


@pytest.mark.slow  # runs Rasa (validate, or `rasa train core`)
def test_digits_in_the_first_message_skip_the_question(rasa):
    assert "ending in 7310" in text_of(say(rasa, "c3", '/lost_or_stolen_card{"card_last4": "7310"}'))
    assert "Okay, I haven't blocked any card" in text_of(say(rasa, "c3", "/deny"))
    assert blocks(rasa, "c3") == []


@pytest.mark.slow  # runs Rasa (validate, or `rasa train core`)
def test_card_digits_outside_the_form_offer_to_block_that_card(rasa):
    assert "ending in 9931" in text_of(say(rasa, "c5", '/inform{"card_last4": "9931"}'))
    assert "haven't blocked any card" in text_of(say(rasa, "c5", "/deny"))
    assert "What would you like to do?" in text_of(say(rasa, "c5", "/inform"))  # no digits: just asks


@pytest.mark.slow  # runs Rasa (validate, or `rasa train core`)
def test_customer_can_cancel_or_ask_for_a_person_mid_form(rasa):
    say(rasa, "c4", "/lost_or_stolen_card")
    assert "haven't blocked any card" in text_of(say(rasa, "c4", "never mind"))
    say(rasa, "c4", "/lost_or_stolen_card")
    handoff = say(rasa, "c4", "/request_human")
    assert any(r.get("custom", {}).get("supportbot", {}).get("handoff") for r in handoff)
    assert "Hi, I'm the Harbor Bank assistant" in text_of(say(rasa, "c4", "/greet"))
    assert blocks(rasa, "c4") == []
