"""`python -m actions` as a real process: rasa_sdk's webhook serving our actions over HTTP.

One server runs over the small real index, one over a missing index; both must answer 200 with
a reply for every action call Rasa 3.6 can send, and a clear 4xx for a malformed request.
"""

from __future__ import annotations

import sqlite3
import sys

import httpx
import pytest

from tests.actions.trackers import tracker_state
from tests.support import free_port, start, stop, wait_http

# the action server (and its loaded encoder and index) runs as a real process
pytestmark = pytest.mark.slow

TOKEN = "action-token-for-tests"  # what Rasa's action_endpoint.token sends


@pytest.fixture(scope="module")
def servers(tmp_path_factory, kb_dir, kb_index):
    """Two action servers: one with the index, one whose index directory is empty."""
    tmp = tmp_path_factory.mktemp("action-servers")
    procs, urls = [], {}
    for name, index_dir in (("ready", kb_index), ("no_index", tmp / "missing")):
        port = free_port()
        env = {"SUPPORTBOT_VAR_DIR": str(tmp / name), "SUPPORTBOT_KB_DIR": str(kb_dir),
               "SUPPORTBOT_ACTION_PORT": str(port), "SUPPORTBOT_DATABASE_URL": f"sqlite:///{tmp / name}.db",
               "SUPPORTBOT_ACTION_TOKEN": TOKEN}
        procs.append(start([sys.executable, "-m", "actions", "--index-dir", str(index_dir)], tmp / f"{name}.log", env))
        urls[name] = f"http://127.0.0.1:{port}"
    try:
        for proc, url in zip(procs, urls.values()):
            wait_http(f"{url}/health", timeout=180, proc=proc)
        yield {**urls, "tmp": tmp}
    finally:
        for proc in procs:
            stop(proc)


def action_call(domain: dict, action: str, *args, sender_id: str = "http-customer", **kwargs) -> dict:
    return {"next_action": action, "sender_id": sender_id,
            "tracker": tracker_state(*args, sender_id=sender_id, **kwargs),
            "domain": domain, "version": "3.6.21", "domain_digest": "test"}


def customs(body: dict) -> list[dict]:
    return [r["custom"]["supportbot"] for r in body["responses"] if r.get("custom")]


def test_serves_our_actions_and_reports_what_it_loaded(servers):
    names = {a["name"] for a in httpx.get(f"{servers['ready']}/actions?token={TOKEN}").json()}
    assert names == {"action_answer_question", "action_show_full_article", "action_handoff", "action_block_card",
                     "validate_block_card_form", "action_ask_stepup_code"}
    status = httpx.get(f"{servers['ready']}/status?token={TOKEN}").json()
    assert status["kb"] == "ready" and status["kb_articles"] == 6
    assert httpx.get(f"{servers['no_index']}/status?token={TOKEN}").json()["kb"] == "unavailable"


def test_question_gets_a_kb_answer_with_its_source(servers, domain):
    call = action_call(domain, "action_answer_question", "Is there a fee to top up by bank transfer?",
                       "top_up_by_bank_transfer_charge", 0.9)
    r = httpx.post(f"{servers['ready']}/webhook?token={TOKEN}", json=call, timeout=30)
    assert r.status_code == 200
    body = r.json()
    assert "Source: Fees for topping up by bank transfer" in body["responses"][0]["text"]
    assert customs(body)[0]["sources"][0]["url"].endswith("/top-up-by-bank-transfer-charge")
    assert body["events"] == []


def test_missing_index_still_answers_200(servers, domain):
    call = action_call(domain, "action_answer_question", "How long do transfers take?", "transfer_timing", 0.9)
    r = httpx.post(f"{servers['no_index']}/webhook?token={TOKEN}", json=call, timeout=30)
    assert r.status_code == 200
    assert r.json()["responses"][0]["response"] == "utter_kb_unavailable"


def test_block_card_over_http_writes_the_bank_table(servers, domain):
    call = action_call(domain, "action_block_card", "/affirm", "affirm",
                       slots={"card_last4": "7310", "block_confirmed": True},
                       metadata={"verified_user_id": "http-customer"})  # the host site vouched for the user
    r = httpx.post(f"{servers['no_index']}/webhook?token={TOKEN}", json=call, timeout=30)
    assert r.status_code == 200
    assert r.json()["responses"][0]["response"] == "utter_card_blocked"
    reference = customs(r.json())[0]["card_block"]["reference"]
    with sqlite3.connect(servers["tmp"] / "no_index.db") as conn:
        row = conn.execute("SELECT customer_id, card_last4 FROM bank_card_blocks WHERE reference = ?",
                           (reference,)).fetchone()
    assert row == ("http-customer", "7310")


@pytest.mark.parametrize("body, status", [(b"{not json", 400), (b"null", 400)])
def test_malformed_requests_get_a_clear_4xx(servers, body, status):
    r = httpx.post(f"{servers['ready']}/webhook?token={TOKEN}", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status


def test_unknown_action_is_a_404_naming_it(servers, domain):
    r = httpx.post(f"{servers['ready']}/webhook?token={TOKEN}", json=action_call(domain, "action_nope", "hi", "greet"))
    assert r.status_code == 404 and r.json()["action_name"] == "action_nope"



def test_only_callers_with_the_action_token_are_served(servers, domain):
    call = action_call(domain, "action_answer_question", "Is there a fee to top up by bank transfer?")
    url = servers["ready"]
    assert httpx.post(f"{url}/webhook", json=call, timeout=30).status_code == 401
    assert httpx.post(f"{url}/webhook?token=wrong", json=call, timeout=30).status_code == 401
    assert httpx.get(f"{url}/actions").status_code == 401
    assert httpx.post(f"{url}/webhook", json=call, headers={"X-Action-Token": TOKEN}, timeout=30).status_code == 200
    assert httpx.get(f"{url}/health").status_code == 200  # liveness stays open
