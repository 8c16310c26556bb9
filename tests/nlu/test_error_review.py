"""The large set's hand error review: every row judged with a known judgement; a bad row is refused by line."""

from __future__ import annotations

import json

import pytest

from nlu.error_review import JUDGEMENTS, REVIEW, read_review


def test_the_shipped_review_judges_every_row_and_names_both_intents():
    reviewed = read_review()
    assert len(reviewed) >= 40
    assert {r["judgement"] for r in reviewed.values()} <= set(JUDGEMENTS)
    assert all(r["gold"] and r["predicted"] and r["gold"] != r["predicted"] for r in reviewed.values())
    assert all(r.get("note") for r in reviewed.values() if r["judgement"] == "model_error")
    assert REVIEW.read_text(encoding="utf-8").count("\n") == len(reviewed)  # no text judged twice


def test_an_unknown_judgement_is_refused_with_its_line(tmp_path):
    path = tmp_path / "review.jsonl"
    rows = [{"text": "a", "gold": "x", "predicted": "y", "judgement": "ambiguous"},
            {"text": "b", "gold": "x", "predicted": "y", "judgement": "maybe"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"review.jsonl:2: judgement 'maybe'"):
        read_review(path)
