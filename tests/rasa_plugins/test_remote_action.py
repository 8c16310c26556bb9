"""The compiled check of action-server responses, in the real Rasa runtime: it accepts what Rasa's own
check accepts, rejects what it rejects with Rasa's message, and is installed by our featurizer."""

from __future__ import annotations

import json

import pytest

from tests.nlu.conftest import RASA_PYTHON, run_rasa_python
from tests.support import ROOT

# the Rasa runtime alone: nothing of this environment but our code on the path
RASA_ONLY = {"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"}

CHECK = r"""
import json, jsonschema
from rasa.core.actions.action import RemoteAction
original = RemoteAction._validate_action_result
import rasa_plugins.featurizer  # installs the compiled check
from rasa_plugins import remote_action
action = RemoteAction("action_answer_question", None)
cases = [{"events": [], "responses": [{"text": "hi", "buttons": [{"title": "t", "payload": "/x"}]},
                                      {"custom": {"supportbot": {"sources": []}}}]},
         {"events": [{"event": "slot", "name": "a", "value": 1}], "responses": []},
         {"events": [{"event": 3}], "responses": []},
         {"events": [], "responses": "not a list"}]
out = {"patched": RemoteAction._validate_action_result is not original, "again": remote_action.install(), "cases": []}
for case in cases:
    verdicts = []
    for check in (original, RemoteAction._validate_action_result):
        try:
            verdicts.append(["ok", check(action, case)])
        except jsonschema.ValidationError as e:
            verdicts.append(["invalid", e.message])
    out["cases"].append(verdicts)
print(json.dumps(out))
"""


@pytest.mark.slow
def test_compiled_check_matches_rasas_own():
    if not RASA_PYTHON.exists():
        pytest.fail("the Rasa runtime (.venv-rasa) is not installed: run `make setup`")
    done = run_rasa_python(CHECK, env=RASA_ONLY, cwd=ROOT)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["patched"] and out["again"]
    kinds = [[v[0] for v in verdicts] for verdicts in out["cases"]]
    assert kinds == [["ok", "ok"], ["ok", "ok"], ["invalid", "invalid"], ["invalid", "invalid"]]
    for original, compiled in out["cases"][2:]:
        assert original[1] == compiled[1] and "Failed to validate Action server response" in compiled[1]
