"""Fuzzing the real service (a `python -m bot.serve` process with the tiny real Rasa behind it):

- every HTTP operation of the OpenAPI schema with schemathesis-generated requests, positive and
  negative, each response checked by `not_a_server_error` and against the response schema;
- WebSocket frames drawn by hypothesis (known and unknown types, fields of any JSON type, invalid
  text, non-JSON), each answered without an `internal_error` and without the socket dying.

Both assert zero 5xx and zero `internal_error`; example counts are bounded (`FUZZ_EXAMPLES`) so the
pair runs in well under two minutes. Failures found are listed in docs/security.md.
"""

from __future__ import annotations

import json
import os
import sys
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from websockets.sync.client import connect

from bot.apikeys import ApiKeys
from core.store.db import Database
from tests.support import free_port, start, stop, wait_http
from tests.tiny_rasa import RASA_TOKEN

pytestmark = pytest.mark.contract
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))  # per HTTP operation and mode; the WebSocket gets 4x
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def service(rasa_server, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    db_url = f"sqlite:///{tmp / 'supportbot.db'}"
    port = free_port()
    env = {"SUPPORTBOT_DATABASE_URL": db_url, "SUPPORTBOT_PORT": str(port), "SUPPORTBOT_RASA_URL": rasa_server.url,
           "SUPPORTBOT_RASA_TRACKER_URL": rasa_server.tracker_url, "SUPPORTBOT_RASA_TOKEN": RASA_TOKEN,
           "SUPPORTBOT_VAR_DIR": str(tmp / "var"), "SUPPORTBOT_RASA_TIMEOUT_S": "5",
           # the limits would refuse most of the fuzz; they are tested on their own
           "SUPPORTBOT_SESSION_RATE_PER_MINUTE": "0", "SUPPORTBOT_IP_RATE_PER_MINUTE": "0",
           "SUPPORTBOT_WS_MAX_SOCKETS_PER_IP": "0"}
    proc = start([sys.executable, "-m", "bot.serve"], tmp / "serve.log", env=env)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=120, proc=proc)
        db = Database(db_url)
        key, _ = ApiKeys(db).create("fuzz")
        db.dispose()
        yield {"url": f"http://127.0.0.1:{port}", "key": key, "log": tmp / "serve.log"}
    finally:
        stop(proc)
    log = (tmp / "serve.log").read_text(errors="replace")
    assert "unexpected error" not in log and "Traceback" not in log, log[-3000:]


def test_every_http_operation_survives_schemathesis(service):
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.generation import GenerationMode
    from schemathesis.specs.openapi.checks import response_schema_conformance

    schema = schemathesis.openapi.from_url(f"{service['url']}/openapi.json")
    ran: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @FUZZ
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case):
                authed = {"Authorization": f"Bearer {service['key']}"} if uuid.uuid4().int % 4 else {}
                response = case.call(base_url=service["url"], headers=authed, timeout=30)
                case.validate_response(response, checks=[not_a_server_error, response_schema_conformance]
                                       if mode == GenerationMode.POSITIVE else [not_a_server_error])
                assert "internal_error" not in response.text
                ran[operation.label] = ran.get(operation.label, 0) + 1

            try:
                check()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE  # nothing to break in an operation without inputs
    assert len(ran) >= 3 and all(n > 0 for n in ran.values()), ran  # every operation was exercised
    print(json.dumps({"schemathesis_cases": sum(ran.values()), "operations": len(ran)}))


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)
TYPES = st.sampled_from(["message", "button", "feedback", "csat", "end", "handoff", "contact", "typing", "ping",
                         "hello", "dance", ""])
FIELDS = st.dictionaries(st.sampled_from(["text", "title", "payload", "button_id", "turn_id", "value", "score",
                                          "conversation_id", "email", "on", "token", "user_id", "user_hash"]),
                         JSON | st.text(alphabet=st.characters(codec=None), max_size=30), max_size=5)
FRAMES = (st.builds(lambda t, f: json.dumps({**f, "type": t}), TYPES, FIELDS)
          | st.builds(json.dumps, JSON)
          | st.text(max_size=60))


def test_websocket_frames_never_cause_an_internal_error(service):
    ws_url = service["url"].replace("http", "ws") + "/ws"
    seen = {"frames": 0, "errors": 0}
    with connect(ws_url, max_size=1 << 21) as ws:
        ws.send(json.dumps({"type": "hello"}))

        def answers_until_pong(marker: str) -> list[dict]:
            ws.send(json.dumps({"type": "ping", "client_msg_id": marker}))
            out = []
            while True:
                event = json.loads(ws.recv(timeout=30))
                out.append(event)
                if event["type"] == "pong":
                    return out

        @settings(max_examples=4 * EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(frame=FRAMES)
        def check(frame):
            if '"type": "message"' in frame or '"type": "button"' in frame:
                # answered by the socket's worker after other frames: its own id marks the end of it
                try:
                    event = json.loads(frame)
                    event["client_msg_id"] = mid = uuid.uuid4().hex
                    frame = json.dumps(event)
                except (ValueError, TypeError):
                    mid = None
            else:
                mid = None
            ws.send(frame)
            seen["frames"] += 1
            events = answers_until_pong("p")
            while mid is not None and not any(e.get("client_msg_id") == mid and (
                    e["type"] == "error" or (e["type"] == "typing" and e.get("on") is False)) for e in events):
                events.append(json.loads(ws.recv(timeout=30)))
            bad = [e for e in events if e.get("code") == "internal_error"]
            assert not bad, (frame, bad)
            seen["errors"] += sum(1 for e in events if e["type"] == "error")

        check()
    print(json.dumps({"websocket_frames": seen["frames"], "error_events": seen["errors"]}))
