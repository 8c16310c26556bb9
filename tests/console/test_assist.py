"""Agent assist on a real store, a real (base-encoder) response model promoted in the real registry and
a real FAISS KB index: the suggestions API, the suggestion record (shown / accepted / edited /
ignored) and agent replies reaching the next retrain as labelled training pairs."""

from __future__ import annotations

import pytest

from bot.console import assist_log
from finetune.importers import read_store
from finetune.pairs import make_pairs
from finetune.preprocess import preprocess
from finetune.suggest import Suggester, context_of, fill_marking, normalise_reply, slots_from_turns
from tests.console import seed
from tests.console.assist_support import BANK, build_kb, build_model, install


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return build_model(tmp_path_factory.mktemp("assist-model"))


@pytest.fixture(scope="module")
def kb_index(tmp_path_factory):
    return build_kb(tmp_path_factory.mktemp("assist-kb"))


@pytest.fixture
def serving(services, model_dir, kb_index):
    install(services.settings, model_dir, kb_index)
    return services


def claimed_conversation(services, client):
    conv = seed.conversation(services.store, [
        {"text": "I lost my card, please block it", "intent": "lost_or_stolen_card", "confidence": 0.9,
         "entities": [{"entity": "card_last4", "value": "4421"}], "reply": "I can help with that."}])
    r = client.post(f"/api/console/conversations/{conv['id']}/claim", headers={"X-CSRF-Token": client.csrf})
    assert r.status_code == 200, r.text
    return conv["id"]


def test_fill_marking_keeps_unfilled_placeholders_visible():
    text, parts, missing = fill_marking(BANK[0], {"card_last4": "4421"})
    assert text == "Thank you, [NAME]. I have blocked your card ending in 4421 and ordered a new one."
    assert parts[1] == {"missing": "NAME"} and missing == ["NAME"]
    assert fill_marking("Your PIN is [PIN].", {"pin": "1234"})[2] == ["PIN"]  # never filled
    turns = [{"speaker": "customer", "text": "hi", "entities": [{"entity": "customer_name", "value": "Jo"}]},
             {"speaker": "bot", "text": "Hello"}, {"speaker": "system", "text": "Ann joined"}]
    assert slots_from_turns(turns, {"slots": {"email": "a@b.c"}}) == {"customer_name": "Jo", "email": "a@b.c"}
    assert context_of(turns) == [{"speaker": "customer", "text": "hi"}]  # up to the last customer message
    assert normalise_reply(" Thank you,  [NAME]! ") == normalise_reply("thank you [EMAIL]") == "thank you <slot>"


def test_suggester_without_model_or_index_says_why():
    out = Suggester(None, None).suggest([{"speaker": "customer", "text": "hello"}])
    assert out["replies"] == [] and out["passages"] == []
    assert out["notes"] == ["no dialogue model loaded", "no knowledge-base index loaded"]


def test_suggestions_api_records_and_resolves(serving, client_for):
    ann, bob = client_for("agent"), client_for("agent2")
    cid = claimed_conversation(serving, ann)
    page = ann.get(f"/console/conversations/{cid}")
    assert 'id="assist"' in page.text and "/console/static/assist.js" in page.text
    assert ann.get("/console/static/assist.js").status_code == 200

    r = ann.get(f"/api/console/conversations/{cid}/suggestions")
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["model_version"] == "m1" and len(data["replies"]) == 3
    top = data["replies"][0]
    assert top["template"] == BANK[0]
    assert top["text"] == "Thank you, [NAME]. I have blocked your card ending in 4421 and ordered a new one."
    assert top["missing"] == ["NAME"]
    assert data["passages"] and data["passages"][0]["title"]
    assert assist_log.summary(serving.db, cid) == {"shown": 3, "accepted": 0, "edited": 0, "ignored": 0}

    # a new panel refresh leaves the first batch ignored
    second = ann.get(f"/api/console/conversations/{cid}/suggestions").json()
    assert assist_log.summary(serving.db, cid)["ignored"] == 3

    final = second["replies"][0]["text"].replace("[NAME]", "Jane")
    sent = ann.post(f"/api/console/conversations/{cid}/messages", json={"text": final},
                    headers={"X-CSRF-Token": ann.csrf}).json()
    turn_id = sent.get("turn_id") or sent["id"]
    body = {"batch": second["batch"], "chosen": second["replies"][0]["id"], "final_text": final, "turn_id": turn_id}
    r = ann.post(f"/api/console/conversations/{cid}/suggestions/resolve", json=body,
                 headers={"X-CSRF-Token": ann.csrf})
    assert r.status_code == 200, r.text
    assert sorted(r.json()["outcomes"].values()) == ["edited", "ignored", "ignored"]
    assert assist_log.summary(serving.db, cid) == {"shown": 6, "accepted": 0, "edited": 1, "ignored": 5}

    # bad input: a clear error, nothing changed
    bad = ann.post(f"/api/console/conversations/{cid}/suggestions/resolve", json={"batch": "nope"},
                   headers={"X-CSRF-Token": ann.csrf})
    assert bad.status_code == 404 and "No suggestions" in bad.json()["message"]
    assert ann.post(f"/api/console/conversations/{cid}/suggestions/resolve", json={"batch": second["batch"]},
                    ).status_code == 403  # no CSRF token
    assert client_for(None).get(f"/api/console/conversations/{cid}/suggestions").status_code in (401, 303)
    assert bob.get("/api/console/conversations/nope/suggestions").status_code == 404

    # the agent's reply is a training pair of the next retrain, labelled, and anonymised
    convs, _ = preprocess(read_store(serving.settings.db_url).conversations)
    pairs = [p for p in make_pairs(convs) if p["conversation_id"] == cid]
    assert [p["label"] for p in pairs] == ["correction"]
    assert "[NAME]" in pairs[0]["reply"] and "Jane" not in pairs[0]["reply"]
    assert pairs[0]["context"].endswith("customer: I lost my card, please block it")


def test_accepted_unchanged_is_a_confirmed_pair(serving, client_for):
    ann = client_for("agent")
    cid = claimed_conversation(serving, ann)
    data = ann.get(f"/api/console/conversations/{cid}/suggestions").json()
    choice = data["replies"][1]
    sent = ann.post(f"/api/console/conversations/{cid}/messages", json={"text": choice["text"]},
                    headers={"X-CSRF-Token": ann.csrf}).json()
    r = ann.post(f"/api/console/conversations/{cid}/suggestions/resolve",
                 json={"batch": data["batch"], "chosen": choice["id"], "final_text": choice["text"],
                       "turn_id": sent.get("turn_id") or sent["id"]}, headers={"X-CSRF-Token": ann.csrf})
    assert r.json()["outcomes"][str(choice["id"])] == "accepted"
    pairs = [p for p in make_pairs(read_store(serving.settings.db_url).conversations) if p["conversation_id"] == cid]
    assert [p.get("label") for p in pairs] == ["confirmed"]
