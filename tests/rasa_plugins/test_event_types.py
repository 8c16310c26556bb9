"""The cached event-type lookup, in the real Rasa runtime: for every event class Rasa knows it returns what
Rasa's own class-tree walk returns, keeps Rasa's answers for "topic", a default and an unknown name, finds a
class defined after the first lookup, is installed by our featurizer, and a stored tracker reads back the same."""

from __future__ import annotations

import json

import pytest

from tests.nlu.conftest import RASA_PYTHON, run_rasa_python
from tests.support import ROOT

# the Rasa runtime alone: nothing of this environment but our code on the path
RASA_ONLY = {"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"}

CHECK = r"""
import json
import rasa.shared.utils.common as common
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered, deserialise_events
def walk(name, default=None):  # Rasa 3.6's resolve_by_type, as it is
    for cls in common.all_subclasses(Event):
        if cls.type_name == name:
            return cls
    if name == "topic":
        return None
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{name}'.")
original = Event.resolve_by_type
import rasa_plugins.featurizer  # installs the cached lookup
from rasa_plugins import event_types
names = sorted({c.type_name for c in common.all_subclasses(Event)})
out = {"patched": Event.resolve_by_type is not original, "again": event_types.install(), "names": len(names),
       "same": [n for n in names if Event.resolve_by_type(n) is walk(n)],
       "topic": Event.resolve_by_type("topic") is None,
       "default": Event.resolve_by_type("no_such_event", UserUttered) is UserUttered}
try:
    Event.resolve_by_type("no_such_event")
    out["unknown"] = "accepted"
except ValueError as e:
    out["unknown"] = str(e)
class LateEvent(SlotSet):
    type_name = "supportbot_late_event"
out["late"] = Event.resolve_by_type("supportbot_late_event") is LateEvent
events = [ActionExecuted("action_listen"), UserUttered("hi", {"name": "greet", "confidence": 0.9}),
          SlotSet("language", "zh")]
back = deserialise_events([e.as_dict() for e in events])
out["round_trip"] = [e.as_dict() for e in back] == [e.as_dict() for e in events]
print(json.dumps(out))
"""


@pytest.mark.slow
def test_cached_lookup_answers_as_rasas_walk():
    if not RASA_PYTHON.exists():
        pytest.fail("the Rasa runtime (.venv-rasa) is not installed: run `make setup`")
    done = run_rasa_python(CHECK, env=RASA_ONLY, cwd=ROOT)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["patched"] and out["again"]
    assert out["names"] >= 20 and len(out["same"]) == out["names"]
    assert out["topic"] and out["default"] and out["late"] and out["round_trip"]
    assert out["unknown"] == "Unknown event name 'no_such_event'."
