"""The slimmed tracker Rasa sends the action server, built by real Rasa (.venv-rasa) and read by real rasa-sdk:
smaller, yet every slot, the latest message and everything the demo's actions read from the events is the same."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker

from actions.answer import carried_vector, conversation_context, previous_user_message, shown_paragraphs
from bench.action_request import measure
from rasa_plugins.action_request import slim_events


@pytest.mark.slow
def test_slim_request_carries_what_the_actions_read():
    out = measure(turns=25)
    whole, slim = out["bodies"]["all"]["tracker"], out["bodies"]["slim"]["tracker"]
    assert out["events_all"] > out["events_slim"] and out["bytes_slim"] < out["bytes_all"] / 2
    a, b = Tracker.from_dict(whole), Tracker.from_dict(slim)
    assert a.slots == b.slots and a.slots["card_last4"] == "1024"
    assert a.latest_message == b.latest_message and a.latest_action_name == b.latest_action_name
    assert a.active_loop == b.active_loop
    assert conversation_context(a.events) == conversation_context(b.events)
    encoder = "all-MiniLM-L6-v2@bench"
    assert (carried_vector(previous_user_message(a.events), encoder)
            == carried_vector(previous_user_message(b.events), encoder)).all()
    assert shown_paragraphs(a.events, "kb/24.md") == shown_paragraphs(b.events, "kb/24.md") == {0}
    # only the current session's events, none from before the restart
    assert not any("question 0." in (e.get("text") or "") for e in b.events)


def test_slim_events_keeps_the_session_the_window_and_the_latest_parse_data():
    heavy = {"supportbot_embedding": {"data": "x"}, "intent_ranking": [1, 2], "intent": {"name": "a"}}
    events = [{"event": "user", "text": "old", "parse_data": dict(heavy)}, {"event": "session_started"}]
    events += [{"event": "user", "text": f"q{i}", "parse_data": dict(heavy)} for i in range(5)]
    out = slim_events(events, window=4, keep_parse=2)
    assert [e.get("text") for e in out] == ["q1", "q2", "q3", "q4"]
    assert [sorted(e["parse_data"]) for e in out[:2]] == [["intent"], ["intent"]]
    assert all("supportbot_embedding" in e["parse_data"] for e in out[2:])
    assert events[2]["parse_data"] == heavy  # the input is left as it was
    assert slim_events([], window=10) == []
