"""Erasing one customer leaves no row of theirs in the store, its full-text index, Rasa's tracker store
(Rasa's own SQLTrackerStore on SQLite and on PostgreSQL), the demo bank or the log-import archive,
while another customer's data stays; models that learnt from them are flagged; an audit event says
who did it. The access request (`customers export`) returns the person's data."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import func, select

from actions.bank import BankBackend
from bot.cli import cli
from core.store.models import AuditEvent, Conversation, CustomerSession, Turn
from finetune.archive import archive_dir, load_archive, save_import
from finetune.registry import Registry
from privacy.erasure import erase
from privacy.subject import find_subject, subject_data

ALICE = [("customer", "Hello, I am Rhiannon Okafor and my card was stolen"),
         ("bot", "Sorry to hear that. Which card?"),
         ("customer", "The one ending 4821, please call me on +44 7700 900123")]
BOB = [("customer", "Hi, this is Bartholomew Quist, where is my parcel?"),
       ("bot", "Let me check that for you.")]


def plant(world):
    alice = world.customer(ALICE, contact="rhiannon.okafor@example.com", status="closed", feedback=-1)
    # the same person came back later in the same widget session: a second conversation
    with world.db.session() as s:
        conv = s.get(Conversation, alice.conversation_id)
        conv.status = "closed"
    world.store.append_customer_turn(alice.session_id, "widget", "Rhiannon again: any news?", None)
    bob = world.customer(BOB, contact="bart@example.org", feedback=1)
    world.rasa_tracker([alice, bob])
    bank = BankBackend(world.settings.db_url)
    bank.block_card(alice.conversation_id, "4821")
    bank.block_card(bob.conversation_id, "1111")
    bank.dispose()
    save_import([{"conversation_id": alice.conversation_id, "turns": [{"speaker": "customer", "text": "[NAME] here"}]},
                 {"conversation_id": "imported-7", "turns": [
                     {"speaker": "customer", "text": "write to rhiannon.okafor@example.com"}]},
                 {"conversation_id": bob.conversation_id, "turns": [{"speaker": "customer", "text": "parcel?"}]}],
                {}, world.settings.var_dir, "crm-export.jsonl")
    registry = Registry(world.db)
    registry.register("responses", "v-alice", world.tmp_path, {}, "fp1",
                      conversations=[alice.conversation_id, "other"])
    registry.register("responses", "v-bob", world.tmp_path, {}, "fp2", conversations=[bob.conversation_id])
    return alice, bob


def test_erasing_one_customer_leaves_nothing_of_theirs_and_keeps_the_other(world):
    alice, bob = plant(world)
    with world.db.session() as s:
        alice_convs = set(s.scalars(select(Conversation.id).where(Conversation.session_id == alice.session_id)))
    assert len(alice_convs) == 2
    assert world.fts("Okafor") and world.fts("Rhiannon")
    bob_turns = world.turn_ids(bob.conversation_id)

    subject = find_subject(world.db, contact="Rhiannon.Okafor@example.com")
    assert set(subject.conversation_ids) == alice_convs
    report = erase(world.stores, subject, actor="dpo@bank")

    assert report["found"] and report["removed"]["conversations"] == 2 and report["removed"]["sessions"] == 1
    assert report["removed"]["rasa_tracker_events"] > 0 and report["removed"]["bank_records"] == 1
    assert report["removed"]["imported_log_lines"] == 2  # by conversation id, and by the address in the text
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Conversation).where(Conversation.id.in_(alice_convs))) == 0
        assert s.scalar(select(func.count()).select_from(Turn).where(Turn.conversation_id.in_(alice_convs))) == 0
        assert s.get(CustomerSession, alice.session_id) is None
        assert s.get(CustomerSession, bob.session_id) is not None
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "erase")).one()
        assert event.actor == "dpo@bank" and event.target.startswith("contact:sha256:")
        assert "okafor" not in json.dumps(event.detail).lower()
    assert world.fts("Okafor") == set() and world.fts("Rhiannon") == set()
    assert world.fts("Bartholomew") == {t for t in bob_turns if t == min(bob_turns)}
    assert world.tracker_rows(alice.conversation_id) == []
    assert any(e.get("text") == BOB[0][1] for e in world.tracker_rows(bob.conversation_id))
    bank = BankBackend(world.settings.db_url)
    assert bank.blocks(alice.conversation_id) == [] and len(bank.blocks(bob.conversation_id)) == 1
    bank.dispose()
    archived = "".join(p.read_text() for p in archive_dir(world.settings.var_dir).glob("*.jsonl"))
    assert "okafor" not in archived.lower() and alice.conversation_id not in archived
    assert [c["conversation_id"] for c in load_archive(world.settings.var_dir).conversations] == [bob.conversation_id]
    models = {m["version"]: m for m in Registry(world.db).list()}
    assert models["v-alice"]["needs_retrain"] and "retrain" in models["v-alice"]["retrain_reason"]
    assert not models["v-bob"]["needs_retrain"]
    assert world.turns(bob.conversation_id) == [t for _, t in BOB]


def test_erase_by_session_token_and_by_conversation(world):
    alice, bob = plant(world)
    by_token = erase(world.stores, find_subject(world.db, session=alice.token), actor="ops")
    assert by_token["removed"]["conversations"] == 2 and world.tracker_rows(alice.conversation_id) == []
    one = erase(world.stores, find_subject(world.db, conversation=bob.conversation_id), actor="ops")
    assert one["removed"]["conversations"] == 1 and one["removed"]["sessions"] == 1
    assert world.fts("Bartholomew") == set()


def test_cli_export_then_erase_with_audit(world, monkeypatch):
    alice = world.customer(ALICE, contact="rhiannon.okafor@example.com", status="closed", feedback=-1)
    world.store.append_customer_turn(alice.session_id, "widget", "Rhiannon again: any news?", None)
    world.customer(BOB, contact="bart@example.org")
    world.rasa_tracker([alice])
    bank = BankBackend(world.settings.db_url)
    bank.block_card(alice.conversation_id, "4821")
    bank.dispose()
    save_import([{"conversation_id": alice.conversation_id, "turns": [{"speaker": "customer", "text": "[NAME] here"}]},
                 {"conversation_id": "imported-7", "turns": [
                     {"speaker": "customer", "text": "write to rhiannon.okafor@example.com"}]}],
                {}, world.settings.var_dir, "crm-export.jsonl")
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", world.settings.db_url)
    monkeypatch.setenv("SUPPORTBOT_VAR_DIR", str(world.settings.var_dir))
    monkeypatch.setenv("SUPPORTBOT_RASA_TRACKER_URL", world.settings.tracker_db_url)
    monkeypatch.setenv("USER", "auditor")
    from core.settings import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    out = runner.invoke(cli, ["customers", "export", "--contact", "rhiannon.okafor@example.com"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    texts = [t["text"] for c in data["conversations"] for t in c["turns"]]
    assert ALICE[0][1] in texts and BOB[0][1] not in texts
    assert any(t["feedback"] == -1 for c in data["conversations"] for t in c["turns"])
    assert data["bank_records"][0]["card_last4"] == "4821"
    assert {a["conversation_id"] for a in data["imported_logs"]} == {alice.conversation_id, "imported-7"}
    assert any(e["data"].get("text") == ALICE[0][1] for e in data["rasa_tracker_events"])

    Registry(world.db).register("responses", "v-alice", world.tmp_path, {}, "fp", conversations=[alice.conversation_id])
    out = runner.invoke(cli, ["customers", "erase", "--session", alice.token, "--actor", "dpo"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["removed"]["conversations"] == 2
    listed = runner.invoke(cli, ["models", "list"])
    assert "v-alice" in listed.stdout and "NEEDS RETRAIN" in listed.stdout
    out = runner.invoke(cli, ["customers", "erase", "--conversation", "no-such-id"])
    assert out.exit_code != 0 and "nothing is held" in out.output
    out = runner.invoke(cli, ["customers", "audit"])
    events = json.loads(out.stdout)
    assert [(e["action"], e["actor"]) for e in events] == [("erase", "auditor"), ("erase", "dpo"), ("export", "auditor")]
    out = runner.invoke(cli, ["customers", "erase", "--session", "x", "--contact", "y@z"])
    assert out.exit_code == 2 and "exactly one" in out.output
    assert subject_data(world.stores, find_subject(world.db, session=alice.token))["conversations"] == []
    get_settings.cache_clear()
