"""Corrections (who and when), the admin review queue, and the exports that turn them into
training data: Rasa NLU YAML read back by Rasa's own loader, and conversation-log JSONL read back by
the retraining pipeline's importer, with personal data anonymised."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml

from bot.console.accounts import Accounts
from bot.console.corrections import add_correction, mark_reviewed, review_queue
from bot.console.errors import BadRequest, NotFound
from bot.console.export import export_nlu, export_responses
from core.store.models import Correction
from finetune.importers import read_jsonl
from tests.console import seed
from tests.console.conftest import PASSWORD
from tests.support import RASA_BIN, ROOT

CARD = "4111 1111 1111 1111"


@pytest.fixture
def corrected(db_services):
    """Two conversations with an intent fix, an out-of-scope mark and a reply fix."""
    db, store = db_services.db, db_services.store
    ann = Accounts(db).add("ann", PASSWORD, "agent", "Ann")
    a = seed.conversation(store, [
        {"text": f"my card {CARD} never came, mail me at jane.doe@example.com", "intent": "card_arrival",
         "confidence": 0.31, "reply": "Cards arrive in 3 days.",
         "candidates": [{"text": "Let me check the delivery.", "score": 0.4}]},
        {"text": "and what is the exchange rate", "intent": "nlu_fallback", "confidence": 0.2, "reply": "Sorry?"},
        {"text": "thanks", "intent": "thank", "confidence": 0.99, "reply": "You're welcome."},
    ])
    b = seed.conversation(store, [{"text": "what's the weather like", "intent": "nlu_fallback", "confidence": 0.1,
                                   "reply": "Hmm."}])
    c = seed.conversation(store, [{"text": "[evil](entity) {x} text", "intent": "greet", "confidence": 0.4}])
    add_correction(db, a["customer"][0], "intent", "card_not_working", ann.id)
    add_correction(db, a["customer"][0], "intent", "card_arrival", ann.id)   # a later fix wins
    add_correction(db, a["bot"][0], "reply", "I'm sorry it hasn't come yet. I've ordered a new one.", ann.id)
    add_correction(db, a["customer"][1], "intent", "exchange_rate", ann.id)
    add_correction(db, b["customer"][0], "out_of_scope", "", ann.id)
    add_correction(db, c["customer"][0], "intent", "greet", ann.id)
    return {"a": a, "b": b, "c": c, "ann": ann}


def test_corrections_are_kept_with_who_and_when(db_services, corrected):
    with db_services.db.session() as s:
        rows = s.query(Correction).order_by(Correction.id).all()
        assert [(r.kind, r.user_id) for r in rows][:3] == [("intent", corrected["ann"].id)] * 2 + \
            [("reply", corrected["ann"].id)]
        assert all(r.created_at is not None for r in rows)
    db = db_services.db
    with pytest.raises(BadRequest, match="customer turn"):
        add_correction(db, corrected["a"]["bot"][0], "intent", "greet", corrected["ann"].id)
    with pytest.raises(BadRequest, match="bot turn"):
        add_correction(db, corrected["a"]["customer"][0], "reply", "hi", corrected["ann"].id)
    with pytest.raises(BadRequest, match="intent name"):
        add_correction(db, corrected["a"]["customer"][0], "intent", "two words", corrected["ann"].id)
    with pytest.raises(BadRequest, match="Pick one"):
        add_correction(db, corrected["a"]["bot"][0], "reply", "  ", corrected["ann"].id)
    with pytest.raises(NotFound):
        add_correction(db, 10**9, "intent", "greet", corrected["ann"].id)


def test_review_queue_holds_unreviewed_low_confidence_turns(db_services, corrected):
    db, threshold = db_services.db, db_services.settings.console_low_confidence
    unsure = seed.conversation(db_services.store, [{"text": "umm", "intent": "greet", "confidence": 0.3},
                                                   {"text": "sure thing", "intent": "affirm", "confidence": 0.95}])
    queue = review_queue(db, threshold)
    assert [t["text"] for t in queue] == ["umm"]  # corrected turns count as reviewed; confident ones never queue
    mark_reviewed(db, unsure["customer"][0], corrected["ann"].id)
    mark_reviewed(db, unsure["customer"][0], corrected["ann"].id)  # twice is fine
    assert review_queue(db, threshold) == []


def test_export_nlu_is_anonymised_rasa_yaml(db_services, corrected):
    text, report = export_nlu(db_services.db)
    data = yaml.safe_load(text)
    examples = {block["intent"]: block["examples"].splitlines() for block in data["nlu"]}
    assert set(examples) == {"card_arrival", "exchange_rate", "out_of_scope", "greet"}
    assert examples["card_arrival"] == ["- my card [CARD] never came, mail me at [EMAIL]"]
    assert examples["out_of_scope"] == ["- what's the weather like"]
    assert examples["greet"] == ["- [evil] (entity) {x} text"]  # no accidental entity annotation
    assert CARD not in text and "jane.doe" not in text
    assert report == {"intents": 4, "examples": 4, "placeholders": {"[CARD]": 1, "[EMAIL]": 1}}


def test_export_responses_is_the_conversation_log_contract(db_services, corrected, tmp_path):
    report: dict = {}
    records = list(export_responses(db_services.db, "corrected", report=report))
    assert len(records) == 1 and records[0]["conversation_id"] == corrected["a"]["id"]
    turns = records[0]["turns"]
    # cut after the corrected reply; the corrected reply is the agent's
    assert [(t["speaker"], t["text"]) for t in turns] == [
        ("customer", "my card [CARD] never came, mail me at [EMAIL]"),
        ("agent", "I'm sorry it hasn't come yet. I've ordered a new one.")]
    assert turns[1]["corrected"] is True and all(t["ts"] for t in turns)
    assert report["conversations"] == 1 and report["corrected_replies"] == 1
    everything = list(export_responses(db_services.db, "all"))
    assert len(everything) == 3 and all(t["speaker"] in ("customer", "bot", "agent")
                                        for r in everything for t in r["turns"])
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in everything))
    read = read_jsonl(path)  # the retraining pipeline's own reader
    assert read.errors == [] and len(read.conversations) == 3


@pytest.mark.slow
def test_export_cli_writes_files_rasa_and_retraining_read(services, tmp_path):
    ann = Accounts(services.db).add("ann", PASSWORD, "agent", "Ann")
    conv = seed.conversation(services.store, [{"text": "call me on +44 20 7946 0958 about my pin",
                                               "intent": "nlu_fallback", "confidence": 0.2, "reply": "Hm?"}])
    add_correction(services.db, conv["customer"][0], "intent", "change_pin", ann.id)
    add_correction(services.db, conv["bot"][0], "reply", "You can change your PIN in the app.", ann.id)
    env = {**os.environ, "SUPPORTBOT_DATABASE_URL": services.settings.db_url,
           "SUPPORTBOT_VAR_DIR": str(services.settings.var_dir)}
    cli = [str(ROOT / ".venv" / "bin" / "supportbot"), "export"]
    nlu, jsonl = tmp_path / "out" / "corrections.yml", tmp_path / "out" / "corrections.jsonl"
    done = subprocess.run(cli + ["nlu", "--out", str(nlu)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stderr.strip().splitlines()[-1])["examples"] == 1
    done = subprocess.run(cli + ["responses", "--out", str(jsonl)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    # Rasa's own NLU loader (Python 3.10 runtime) reads the export
    check = ("import sys; from rasa.shared.nlu.training_data.loading import load_data; "
             "td = load_data(sys.argv[1]); print([(m.get('intent'), m.get('text')) for m in td.training_examples])")
    rasa_python = RASA_BIN.parent / "python"
    out = subprocess.run([str(rasa_python), "-c", check, str(nlu)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "('change_pin', 'call me on [PHONE] about my pin')" in out.stdout
    log = read_jsonl(jsonl)
    assert log.errors == [] and log.conversations[0]["turns"][-1]["text"] == "You can change your PIN in the app."
    bad = subprocess.run(cli + ["nlu", "--since", "last week"], env=env, capture_output=True, text=True, timeout=600)
    assert bad.returncode != 0 and "2026-01-31" in bad.stderr
