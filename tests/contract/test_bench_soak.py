"""Contract: `supportbot bench soak` runs the platform (own PostgreSQL and Redis, two bot replicas) with
the demo bot, and its JSON accounts for every message. A smoke run: the numbers live in docs/benchmarks.md."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support import ROOT

pytestmark = [pytest.mark.contract, pytest.mark.postgres]
KEYS = {"sent", "acknowledged", "stored", "answered", "agent_messages", "duplicates", "lost", "reconnects",
        "longest_recovery_s", "longest_restart_s", "p50_ms", "p95_ms", "memory_mb", "memory_growth_pct"}


def test_a_short_soak_loses_and_doubles_nothing(trained):
    cmd = [sys.executable, "-m", "bot.cli", "bench", "soak", "--sessions", "3", "--minutes", "0.5",
           "--replicas", "2", "--think-ms", "500", "--handoff-every", "3"]
    done = subprocess.run(cmd, cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert set(result) >= KEYS
    assert result["sent"] > 0 and result["acknowledged"] == result["stored"] == result["sent"]
    assert result["lost"] == 0 and result["duplicates"] == 0
    assert result["agent_messages"] >= 1  # the first customer asked for a person and the scripted agent answered
    assert set(result["memory_mb"]) == {"actions", "actions-1", "rasa", "rasa-1", "bot", "bot-1"}
