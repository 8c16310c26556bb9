"""`supportbot pii redact|scan` and `supportbot eval pii` as a user runs them (real engine, real
files, the installed CLI entry point)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}


def supportbot(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=ENV,
                          cwd=cwd, timeout=600)


@pytest.mark.slow
def test_pii_redact_keeps_order_and_reports_a_bad_line(tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join([
        json.dumps({"id": 1, "text": "my name is Olumide Bakare, call +44 20 7946 0958"}),
        "{not json",
        json.dumps({"id": "b", "text": "Where is my parcel?"}),
        json.dumps({"id": 3}),
        json.dumps({"id": "c", "text": "我叫李娜，身份证 11010519491231002X"}, ensure_ascii=False),
    ]) + "\n", encoding="utf-8")
    out = supportbot("pii", "redact", str(f))
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["id"] for r in lines] == [1, "b", "c"]
    assert lines[0]["text"] == "my name is [NAME], call [PHONE]"
    assert [(e["kind"], e["start"], e["end"]) for e in lines[0]["entities"]] == [("NAME", 11, 25), ("PHONE", 32, 48)]
    assert lines[1] == {"id": "b", "text": "Where is my parcel?", "entities": []}
    assert lines[2]["text"] == "我叫[NAME]，身份证 [NATIONAL_ID]"
    assert f"{f}:2: not JSON" in out.stderr and f"{f}:4: expected an object" in out.stderr

    scan = supportbot("pii", "scan", str(f))
    assert scan.returncode == 0, scan.stderr
    report = json.loads(scan.stdout)
    assert report == {"lines": 3, "lines_with_pii": 2, "entities": {"NAME": 2, "NATIONAL_ID": 1, "PHONE": 1}}
    assert "Bakare" not in scan.stdout


@pytest.mark.slow
def test_eval_pii_on_a_tiny_generated_set_prints_one_json_object(tmp_path):
    out = supportbot("eval", "pii", "--generate", str(tmp_path / "set"), "--n", "40", "--part", "dev")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    figures = result["engine"]
    assert {"recall", "typed_recall", "recall_by_kind", "recall_by_language", "controls_changed",
            "ordinary_words_kept", "messages_per_second", "messages_per_cpu_second"} <= set(figures)
    assert figures["messages"] == 40 and set(figures["recall_by_language"]) == {"en", "de", "fr", "es", "zh"}
    assert 0.0 <= figures["recall"] <= 1.0 and figures["messages_per_second"] > 0
    assert (tmp_path / "set" / "held.truth.jsonl").exists()
    missing = supportbot("eval", "pii", "--messages", str(tmp_path / "nope.jsonl"), "--truth", str(tmp_path / "x"))
    assert missing.returncode != 0 and "cannot read the evaluation set" in missing.stderr
