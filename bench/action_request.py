"""`python -m bench.action_request`: the size of the request Rasa sends the action server, whole vs slimmed.

Builds a real Rasa `DialogueStateTracker` in Rasa's own runtime (.venv-rasa): a first session of `--turns`
customer/bot exchanges, a session restart, and `--turns` more, each customer message with the parse data
our NLU produces (intent ranking, an entity, the packed sentence embedding). Then asks Rasa's
`RemoteAction._action_call_format` for the request body twice, with the endpoint option
`tracker_events: all` (Rasa's own behaviour) and with the default slimmed tracker
(rasa_plugins/action_request.py), and prints one JSON object:
`{"turns", "events_all", "events_slim", "bytes_all", "bytes_slim", "bodies": {"all", "slim"}}`
(`bodies` only with `--bodies`, for tests that compare what the actions read from each).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"

BUILD = r"""
import json, sys
import numpy as np
import rasa_plugins.remote_action as remote_action
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from bench.rasa_conversation import SLOTS_YAML, session_start, turn_events

turns = int(sys.argv[1])
remote_action.install()
domain = Domain.from_yaml(SLOTS_YAML)
tracker = DialogueStateTracker("bench", domain.slots)
rng = np.random.default_rng(0)
for session in range(2):
    for event in session_start():
        tracker.update(event)
    for t in range(turns):
        for event in turn_events(session, t, rng):
            tracker.update(event)
out = {"turns": turns}
for mode in ("all", "slim"):
    action = RemoteAction("action_answer_question", EndpointConfig("http://127.0.0.1:1/webhook",
                                                                    tracker_events=mode))
    body = action._action_call_format(tracker, domain)
    out["events_" + mode] = len(body["tracker"]["events"])
    out["bytes_" + mode] = len(json.dumps(body).encode())
    out.setdefault("bodies", {})[mode] = body
print(json.dumps(out))
"""


def measure(turns: int = 20) -> dict:
    """Run the builder in Rasa's runtime; the JSON object with both bodies."""
    if not RASA_PYTHON.exists():
        raise SystemExit("the Rasa runtime (.venv-rasa) is not installed: run `make setup`")
    env = {"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    done = subprocess.run([str(RASA_PYTHON), "-c", BUILD, str(turns)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"building the tracker in .venv-rasa failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20, help="customer/bot exchanges per session (two sessions)")
    parser.add_argument("--bodies", action="store_true", help="include both request bodies in the output")
    args = parser.parse_args(argv)
    out = measure(args.turns)
    if not args.bodies:
        out.pop("bodies")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
