"""Importing logs from each source — JSONL files, our store, Rasa's SQL tracker store — and cleaning them."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess

import pytest

from core.store.db import Database
from core.store.models import Conversation, Correction, CustomerSession, Turn, User
from finetune.cleaning import clean_conversations
from finetune.errors import LogSourceError
from finetune.importers import read_jsonl, read_store, read_tracker_store
from tests.support import ROOT

GOOD = {"conversation_id": "c1", "turns": [
    {"speaker": "customer", "text": "My card has not arrived", "ts": 1_700_000_000},
    {"speaker": "agent", "text": "Sorry to hear that. When did you order it?", "ts": 1_700_000_060}]}


def write_lines(path, lines: list[bytes]) -> None:
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_jsonl_malformed_lines_are_reported_by_number_and_the_rest_kept(tmp_path):
    log = tmp_path / "logs.jsonl"
    write_lines(log, [
        json.dumps(GOOD).encode(),                                                    # 1 ok
        b'{"conversation_id": "c2", "turns": [',                                      # 2 truncated JSON
        b"",                                                                          # 3 blank: ignored
        json.dumps([1, 2]).encode(),                                                  # 4 not an object
        json.dumps({"conversation_id": "c5"}).encode(),                               # 5 no turns
        json.dumps({"conversation_id": "c6", "turns": [{"speaker": "robot", "text": "x"}]}).encode(),  # 6
        b'{"conversation_id": "c7", "turns": [{"speaker": "customer", "text": "caf\xe9"}]}',  # 7 not UTF-8
        json.dumps({**GOOD, "conversation_id": "c8",                                  # 8 ok, Rasa speaker
                    "turns": [{"speaker": "user", "text": "hi", "ts": "2024-05-02T10:00:00Z"},
                              {"speaker": "bot", "text": "Hello!"}]}).encode(),
        json.dumps({"conversation_id": "c9", "turns": [{"speaker": "agent"}]}).encode(),  # 9 no text
    ])
    result = read_jsonl(log)
    assert [c["conversation_id"] for c in result.conversations] == ["c1", "c8"]
    errors = {e["line"]: e["error"] for e in result.errors}
    assert sorted(errors) == [2, 4, 5, 6, 7, 9]
    assert "invalid JSON" in errors[2] and "not UTF-8" in errors[7] and "robot" in errors[6]
    assert result.conversations[1]["turns"][0] == {"speaker": "customer", "text": "hi",
                                                   "ts": dt.datetime(2024, 5, 2, 10, tzinfo=dt.UTC).timestamp()}
    report = result.report()
    assert report["malformed"] == 6 and report["conversations"] == 2 and report["turns"] == 4


def test_jsonl_since_keeps_only_newer_conversations(tmp_path):
    log = tmp_path / "logs.jsonl"
    new = {**GOOD, "conversation_id": "new", "turns": [{**t, "ts": "2025-01-02T00:00:00"} for t in GOOD["turns"]]}
    write_lines(log, [json.dumps(GOOD).encode(), json.dumps(new).encode()])
    result = read_jsonl(log, since="2025-01-01")
    assert [c["conversation_id"] for c in result.conversations] == ["new"]
    assert result.before_since == 1


def test_missing_file_and_bad_date_are_clear_errors(tmp_path):
    with pytest.raises(LogSourceError, match="no log file"):
        read_jsonl(tmp_path / "absent.jsonl")
    (tmp_path / "x.jsonl").write_text("")
    with pytest.raises(LogSourceError, match="YYYY-MM-DD"):
        read_jsonl(tmp_path / "x.jsonl", since="last tuesday")


@pytest.mark.slow
def test_cli_import_reports_line_numbers_and_stores_anonymised_logs(tmp_path):
    log = tmp_path / "export.jsonl"
    pii = {"conversation_id": "p1", "turns": [
        {"speaker": "customer", "text": "I'm Jessica Miller, email jess.miller@example.com"},
        {"speaker": "agent", "text": "Thanks Jessica, I have updated it."}]}
    write_lines(log, [json.dumps(GOOD).encode(), b"not json at all", json.dumps(pii).encode()])
    env = {"SUPPORTBOT_VAR_DIR": str(tmp_path / "var"), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([str(ROOT / ".venv/bin/supportbot"), "logs", "import", str(log)], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["import"]["errors"] == [{"line": 2, "error": "invalid JSON (Expecting value at column 1)"}]
    assert "line 2: invalid JSON" in proc.stderr
    saved = (tmp_path / "var" / "logs" / "imported")
    stored = [json.loads(line) for f in saved.glob("*.jsonl") for line in f.read_text().splitlines()]
    assert [c["conversation_id"] for c in stored] == ["c1", "p1"]
    text = json.dumps(stored)
    assert "Jessica" not in text and "jess.miller" not in text and "[EMAIL]" in text and "[NAME]" in text


def seed_store(url: str) -> None:
    db = Database(url)
    db.migrate()
    old = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    new = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    with db.session() as s:
        s.add(User(id=1, username="ann", password_hash="x", role="agent"))
        s.add(CustomerSession(id="sess", token_hash="h" * 64))
        s.flush()
        for cid, when in (("old", old), ("new", new)):
            s.add(Conversation(id=cid, session_id="sess", started_at=when, last_activity_at=when))
        s.flush()
        s.add_all([
            Turn(conversation_id="new", seq=1, speaker="customer", text="Where is my card?", created_at=new),
            Turn(id=902, conversation_id="new", seq=2, speaker="bot", text="Try turning it off and on.", created_at=new),
            Turn(conversation_id="new", seq=3, speaker="system", text="agent Ann joined", created_at=new),
            Turn(conversation_id="new", seq=4, speaker="agent", text="It ships in 3 days.", created_at=new),
            Turn(conversation_id="old", seq=1, speaker="customer", text="hello", created_at=old),
        ])
        s.flush()
        s.add(Correction(turn_id=902, kind="reply", value="Cards arrive within 5 working days.", user_id=1))
    db.dispose()


@pytest.mark.postgres
def test_store_import_applies_corrections_and_since(db_url):
    seed_store(db_url)
    everything = read_store(db_url)
    assert sorted(c["conversation_id"] for c in everything.conversations) == ["new", "old"]
    recent = read_store(db_url, since="2025-01-01")
    [conv] = recent.conversations
    assert [(t["speaker"], t["text"]) for t in conv["turns"]] == [
        ("customer", "Where is my card?"),
        ("agent", "Cards arrive within 5 working days."),  # the agent's correction replaces the bot turn
        ("agent", "It ships in 3 days."),
    ]


def test_store_import_of_a_dead_database_is_a_clear_error():
    with pytest.raises(LogSourceError, match="DATABASE_URL"):
        read_store("postgresql://postgres@127.0.0.1:1/none")


def test_rasa_tracker_store_import_reads_what_rasa_wrote(tmp_path):
    db = tmp_path / "tracker.db"
    convs = [
        {"sender_id": "s1", "turns": [{"speaker": "customer", "text": "hi, my card is lost", "ts": 1_700_000_000},
                                      {"speaker": "bot", "text": "I can freeze it for you.", "ts": 1_700_000_002}]},
        {"sender_id": "s2", "turns": [{"speaker": "customer", "text": "hello", "ts": 1_800_000_000},
                                      {"speaker": "bot", "text": "Hi! How can I help?", "ts": 1_800_000_001}]},
    ]
    spec = tmp_path / "convs.json"
    spec.write_text(json.dumps(convs))
    proc = subprocess.run([str(ROOT / ".venv-rasa/bin/python"), str(ROOT / "tests/finetune/rasa_tracker_writer.py"),
                           str(db), str(spec)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    with sqlite3.connect(db) as conn:  # one damaged row, as a crashed writer could leave
        conn.execute("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES ('s2', 'user', 1800000005, '{oops')")
    result = read_tracker_store(f"sqlite:///{db}")
    by_id = {c["conversation_id"]: c for c in result.conversations}
    assert [(t["speaker"], t["text"]) for t in by_id["s1"]["turns"]] == [
        ("customer", "hi, my card is lost"), ("bot", "I can freeze it for you.")]
    assert len(result.errors) == 1 and "not JSON" in result.errors[0]["error"]
    assert [c["conversation_id"] for c in read_tracker_store(f"sqlite:///{db}", since="2025-01-01").conversations] == ["s2"]
    with pytest.raises(LogSourceError, match="tracker_store"):
        read_tracker_store(f"sqlite:///{tmp_path / 'empty.db'}")


def test_cleaning_counts_every_step():
    convs = [
        {"conversation_id": "a", "turns": [
            {"speaker": "customer", "text": "  hello   there ", "ts": 1},
            {"speaker": "customer", "text": "hello there", "ts": 2},   # duplicate after normalising
            {"speaker": "customer", "text": "my card?", "ts": 3},      # merged into the first
            {"speaker": "agent", "text": "", "ts": 4},                 # empty
            {"speaker": "agent", "text": "Let me check.", "ts": 5}]},
        {"conversation_id": "a", "turns": [{"speaker": "customer", "text": "dup id"}]},
        {"conversation_id": "b", "turns": [{"speaker": "customer", "text": "hi"}, {"speaker": "customer", "text": " "}]},
    ]
    out, report = clean_conversations(convs, min_turns=2)
    assert [(t["speaker"], t["text"]) for t in out[0]["turns"]] == [
        ("customer", "hello there my card?"), ("agent", "Let me check.")]
    assert report == {**report, "conversations_in": 3, "duplicate_conversations": 1, "whitespace_normalised": 2,
                      "empty_turns_dropped": 2, "duplicate_turns_dropped": 1, "turns_merged": 1,
                      "short_conversations_dropped": 1, "conversations_out": 1, "turns_out": 2}
    assert convs[0]["turns"][0]["text"] == "  hello   there "  # input untouched
