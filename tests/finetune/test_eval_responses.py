"""`supportbot eval responses` end to end on small synthetic logs: one JSON object with the three systems.

The logs are written here (40 conversations, 120 distinct agent replies, so every test case gets its 99
distractors); training runs two real optimiser steps of the shipped encoder.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.slow  # fine-tunes a dual encoder end to end

VENV_BIN = ROOT / ".venv" / "bin"
TOPICS = ["card", "transfer", "top-up", "refund", "pin", "account", "fee", "statement"]


def word(i: int) -> str:
    """A made-up lower-case word per number (digits would be anonymised into one [ACCOUNT] placeholder)."""
    letters = "bdfgklmnprstvz"
    out = ""
    while True:
        i, r = divmod(i, len(letters))
        out += letters[r] + "aeiou"[r % 5]
        if not i:
            return out


def write_logs(path, start: int, count: int) -> None:
    with path.open("w") as fh:
        for i in range(start, start + count):
            topic, w = TOPICS[i % len(TOPICS)], word(i)
            turns = [
                {"speaker": "customer", "text": f"Hi, a question about my {topic} and the {w} plan."},
                {"speaker": "agent", "text": f"Happy to help with your {topic}; is it the {w} plan you mean?"},
                {"speaker": "customer", "text": f"Yes, the {w} one from last week."},
                {"speaker": "agent", "text": f"Thanks, I found the {w} plan; your {topic} is being handled."},
                {"speaker": "customer", "text": "Great, thank you."},
                {"speaker": "agent", "text": f"You're welcome, goodbye from the {w} {topic} desk."},
            ]
            fh.write(json.dumps({"conversation_id": f"c{i}", "turns": turns}) + "\n")
        fh.write("{not json\n")  # a broken line is reported and skipped, the rest is used


def test_eval_responses_prints_base_bm25_and_finetuned_side_by_side(tmp_path):
    write_logs(tmp_path / "train.jsonl", 0, 40)
    write_logs(tmp_path / "test.jsonl", 1000, 40)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "SUPPORTBOT_VAR_DIR": str(tmp_path / "var"),
           "SUPPORTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "SUPPORTBOT_FINETUNE_DEVICE": "cpu"}
    proc = subprocess.run(
        [str(VENV_BIN / "supportbot"), "eval", "responses", "--train-logs", str(tmp_path / "train.jsonl"),
         "--test-logs", str(tmp_path / "test.jsonl"), "--max-steps", "2", "--batch-size", "8", "--max-cases", "15",
         "--out", str(tmp_path / "models")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(proc.stdout.strip().splitlines()) == 1  # progress went to stderr
    result = json.loads(proc.stdout)
    assert set(result) == {"base", "bm25", "finetuned", "pairs", "train_seconds"}
    for system in ("base", "bm25", "finetuned"):
        assert set(result[system]) == {"recall@1", "mrr"}
        assert 0.0 <= result[system]["recall@1"] <= result[system]["mrr"] <= 1.0
    assert result["pairs"] == 15 and result["train_seconds"] > 0
    assert '"line": 41' in proc.stderr  # the malformed line, reported with its number
    [model_dir] = list((tmp_path / "models").iterdir())
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["training"]["steps"] == 2
    assert manifest["metrics"]["test"]["cases"] == 15
    assert (model_dir / "eval.png").read_bytes()[:4] == b"\x89PNG"
