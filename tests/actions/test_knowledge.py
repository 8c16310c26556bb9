"""The answer policy (`actions.knowledge.decide`) and the reply formatting, on plain data."""

from __future__ import annotations

import pytest

from actions.catalog import KbCatalog
from actions.formatting import answer_text, payload, plain_text, shorten
from actions.knowledge import Decision, Thresholds, Understanding, decide, query_for
from core.settings import ROOT

T = Thresholds(kb_min_score=0.45, nlu_min_confidence=0.5, response_min_score=0.6)
HIT = {"passage_id": 1, "doc_id": "a.md", "title": "A", "url": "https://x/a", "text": "Answer A.", "score": 0.62}
WEAK = {**HIT, "score": 0.2}
SELECTION = {"reply": "Let me check that for you.", "score": 0.8, "model_version": "v3",
             "candidates": [{"text": "Let me check that for you.", "score": 0.8}, {"text": "Sure.", "score": 0.5}]}


def understanding(intent="nlu_fallback", confidence=0.3, text="something"):
    return Understanding(text=text, intent=intent, confidence=confidence)


@pytest.mark.parametrize(
    "u, best, selection, kind",
    [
        (understanding(), HIT, None, "kb"),  # retrieval confident
        (understanding("card_arrival", 0.9), WEAK, None, "kb"),  # NLU confident
        (understanding(), WEAK, None, "low_confidence"),  # both low
        (understanding(), None, None, "low_confidence"),  # nothing retrieved at all
        (understanding(), WEAK, SELECTION, "responses"),  # both low, dialogue model confident
        (understanding(), WEAK, {**SELECTION, "score": 0.59}, "low_confidence"),
        (understanding(), HIT, SELECTION, "kb"),  # a grounded answer beats the dialogue model
        (understanding("card_arrival", 0.49), WEAK, None, "low_confidence"),  # just below the NLU bar
    ],
)
def test_decide(u, best, selection, kind):
    assert decide(u, [best] if best else [], best, False, selection, T).kind == kind


COVERED = {**SELECTION, "learnt_min_score": 0.75}  # the serving model's calibrated threshold


@pytest.mark.parametrize(
    "u, best, guided, selection, kind",
    [
        (understanding("card_payment_not_recognised", 0.9), HIT, True, COVERED, "responses"),  # a covered flow
        (understanding("out_of_scope", 0.8), None, False, COVERED, "responses"),
        (understanding("card_arrival", 0.9), HIT, True, {**COVERED, "score": 0.74}, "kb"),  # below: the KB
        (understanding("card_arrival", 0.9), HIT, True, SELECTION, "kb"),  # an uncalibrated model never goes first
        (understanding("card_arrival", 0.9, "/card_arrival"), HIT, True, COVERED, "kb"),  # a payload
    ],
)
def test_learnt_reply_first_for_a_flow_the_logs_cover(u, best, guided, selection, kind):
    assert decide(u, [best] if best else [], best, guided, selection, T).kind == kind


def test_guided_hit_is_answered_even_with_a_low_score():
    assert decide(understanding("card_arrival", 0.9), [WEAK], WEAK, True, None, T).kind == "kb"


def test_payload_for_a_dialogue_model_reply_carries_candidates_and_version():
    body = payload(Decision("responses", None, [WEAK], SELECTION), understanding(), T.kb_min_score)["supportbot"]
    assert body["sources"] == [] and body["answer_source"] == "responses"
    assert body["candidates"] == [{"text": "Let me check that for you.", "score": 0.8}, {"text": "Sure.", "score": 0.5}]
    assert body["model_versions"] == {"responses": "v3"} and "learnt_min_score" not in body
    covered = payload(Decision("responses", None, [], COVERED), understanding(), T.kb_min_score)["supportbot"]
    assert covered["learnt_min_score"] == 0.75


def test_sources_list_the_answer_first_then_other_good_articles_once():
    other = {**HIT, "url": "https://x/b", "title": "B", "score": 0.5}
    same_article = {**HIT, "passage_id": 2, "score": 0.55}
    decision = Decision("kb", other, [HIT, same_article, other, WEAK | {"url": "https://x/c"}])
    body = payload(decision, understanding(), T.kb_min_score)["supportbot"]
    assert [s["url"] for s in body["sources"]] == ["https://x/b", "https://x/a"]


def test_query_for_payload_uses_the_article_title():
    catalog = KbCatalog.load(ROOT / "data" / "kb")
    assert query_for(understanding("card_arrival", 1.0, "/card_arrival"), catalog) == "My card hasn't arrived yet"
    assert query_for(understanding("unknown_topic", 1.0, "/unknown_topic"), catalog) == "unknown topic"
    assert query_for(understanding(text="x" * 5000), catalog) == "x" * 1000


def test_plain_text_flattens_markdown():
    md = "# Title\n\n**Bold** and *italic*, 2*3*4.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n\n\n- item"
    assert plain_text(md, "Title") == "Bold and italic, 2*3*4.\n\na – b\n1 – 2\n\n- item"


def test_shorten_cuts_at_a_boundary():
    text = "First sentence. " * 100
    short = shorten(text, 200)
    assert len(short) <= 202 and short.endswith(". …")
    assert shorten("short", 200) == "short"


def test_answer_text_without_url_or_article():
    assert answer_text({"title": "T"}, "Body.") == "Body.\n\nSource: T"


def _ranked(text, *ranking):
    return Understanding.from_message({"text": text, "intent": {"name": ranking[0][0], "confidence": ranking[0][1]},
                                       "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking]})


def test_the_runner_up_is_offered_only_when_the_nlu_could_not_tell_the_two_apart():
    close = _ranked("why didn't my top up work?", ("top_up_failed", 0.46), ("top_up_reverted", 0.31), ("card_arrival", 0.1))
    assert close.alternative(0.5) == "top_up_reverted"  # 0.31 >= 0.5 * 0.46
    assert close.alternative(0.7) is None  # a stricter ratio: not close enough
    assert close.alternative(1.01) is None  # above 1: off
    assert _ranked("my top up failed", ("top_up_failed", 0.9), ("top_up_reverted", 0.05)).alternative(0.5) is None
    assert _ranked("/top_up_failed", ("top_up_failed", 0.5), ("top_up_reverted", 0.5)).alternative(0.5) is None
    assert _ranked("x", ("top_up_failed", 0.9)).alternative(0.5) is None  # no runner-up at all
    # the fallback and out-of-scope labels are not intents to offer: the next real intent is the runner-up
    fallback = _ranked("top up?", ("nlu_fallback", 0.4), ("top_up_failed", 0.3), ("out_of_scope", 0.25),
                       ("pending_top_up", 0.2))
    assert fallback.ranked == (("top_up_failed", 0.3), ("pending_top_up", 0.2))
    assert fallback.alternative(0.5) == "pending_top_up"
    assert Understanding.from_message({"text": "hi", "intent_ranking": [{"confidence": 0.3}, "junk"]}).ranked == ()
