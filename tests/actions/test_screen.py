"""The response selector's int8 screen (actions/screen.py): float32 encodes only where it can change the reply.

`settles` on real decisions (actions.knowledge.decide) over plain hits; then action_answer_question over the
small real KB index with a real response model served from a real SQLite registry: the shipped MiniLM's
float32 ONNX export and its int8 copy (nlu.quantize) over a small real FAISS bank. The model's
`learnt_min_score` is set per test to put the screened score far from it, near it, or under it.
"""

from __future__ import annotations

import json
import shutil

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.answer import ActionAnswerQuestion
from actions.knowledge import Thresholds, Understanding
from actions.screen import settles
from actions.services import ActionServices
from core.settings import Settings
from finetune.pairs import format_context
from finetune.registry import Registry
from finetune.response_model import ResponseModel
from tests.actions.conftest import make_settings
from tests.actions.trackers import make_tracker, payloads
from tests.finetune.test_response_encoder import base_model

THRESHOLDS = Thresholds()  # kb_min_score 0.45, nlu_min_confidence 0.5, response_min_score 0.6
CONFIDENT = Understanding("How long until my card arrives?", "card_arrival", 0.9, (("card_arrival", 0.9),))
UNSURE = Understanding("hmm what about the other thing", "nlu_fallback", 0.3)
KB_HIT = {"url": "https://help.example/a", "title": "A", "score": 0.7, "text": "..."}
WEAK_HIT = {**KB_HIT, "score": 0.2}
QUESTION = ("How long does it take for my new card to arrive?", "card_arrival")


def screened(score: float, floor: float | None = 0.85) -> dict:
    return {"reply": "Your card will arrive within 5 working days.", "score": score, "candidates": [],
            "learnt_min_score": floor, "screened": True}


def test_a_kb_answer_far_below_the_learnt_floor_is_settled_by_the_screen():
    assert settles(CONFIDENT, [KB_HIT], KB_HIT, False, screened(0.5), THRESHOLDS, 0.05)
    assert settles(CONFIDENT, [KB_HIT], KB_HIT, False, screened(0.99, floor=None), THRESHOLDS, 0.05)  # no floor


@pytest.mark.parametrize("score", [0.81, 0.85, 0.95])
def test_near_or_over_the_learnt_floor_float32_decides(score):
    assert not settles(CONFIDENT, [KB_HIT], KB_HIT, False, screened(score), THRESHOLDS, 0.05)


def test_when_the_kb_is_not_confident_the_response_threshold_counts_too():
    assert settles(UNSURE, [WEAK_HIT], WEAK_HIT, False, screened(0.3), THRESHOLDS, 0.05)  # "not sure" either way
    assert not settles(UNSURE, [WEAK_HIT], WEAK_HIT, False, screened(0.57), THRESHOLDS, 0.05)  # near 0.6
    assert not settles(UNSURE, [WEAK_HIT], WEAK_HIT, False, screened(0.7), THRESHOLDS, 0.05)  # a learnt reply


def test_no_margin_or_an_unscreened_selection_never_settles():
    assert not settles(CONFIDENT, [KB_HIT], KB_HIT, False, screened(0.5), THRESHOLDS, 0.0)
    assert not settles(CONFIDENT, [KB_HIT], KB_HIT, False, {**screened(0.5), "screened": False}, THRESHOLDS, 0.05)


def test_the_margin_setting_is_typed(monkeypatch):
    monkeypatch.setenv("SUPPORTBOT_RESPONSE_SCREEN_MARGIN", "-0.1")
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        Settings()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, onnx_dir):
    return base_model(tmp_path_factory.mktemp("screen") / "base", reuse_onnx=onnx_dir)


@pytest.fixture(scope="module")
def question_scores(model_dir):
    """The float32 and int8 top scores of the test question, as the action formats its context."""
    context = format_context([{"speaker": "customer", "text": QUESTION[0]}], 3)
    return {p: ResponseModel(model_dir, encoder_precision=p).load().select([context], k=5)[0]
            for p in ("float32", "int8")}


def serve(tmp_path, model_dir, kb_dir, kb_index, floor: float, **overrides) -> ActionServices:
    """Action services over the small KB with a copy of the model, `learnt_min_score` = `floor`, serving."""
    served = tmp_path / "model"
    shutil.copytree(model_dir, served)
    manifest = json.loads((served / "manifest.json").read_text())
    (served / "manifest.json").write_text(json.dumps({**manifest, "routing": {"learnt_min_score": floor}}))
    settings = make_settings(tmp_path / "var", kb_dir, faiss_device="cpu", response_reload_s=3600.0, **overrides)
    registry = Registry.open(settings.db_url)
    registry.register("responses", "screen-test", served, {}, "fp")
    registry.promote("responses", "screen-test")
    services = ActionServices.from_settings(settings, index_dir=kb_index)
    assert services.warm_up()["kb"] == "ready"
    return services


async def annotation(services: ActionServices, domain: dict) -> dict:
    dispatcher = CollectingDispatcher()
    assert await ActionAnswerQuestion(services).run(dispatcher, make_tracker(*QUESTION, 0.9), domain) == []
    return payloads(dispatcher)[-1]


async def test_a_kb_answer_far_from_the_floor_is_scored_by_the_screen_alone(
        tmp_path, model_dir, kb_dir, kb_index, domain, question_scores):
    services = serve(tmp_path, model_dir, kb_dir, kb_index, floor=0.99)
    assert services.status()["response_screen"] is True
    meta = await annotation(services, domain)
    assert meta["answer_source"] == "kb" and meta["candidates_screened"] is True
    assert meta["candidates"] == [{"text": c["text"], "score": c["score"]} for c in question_scores["int8"]]
    int8, fp32 = question_scores["int8"][0]["score"], question_scores["float32"][0]["score"]
    assert abs(int8 - fp32) < services.settings.response_screen_margin  # what makes the screen's verdict safe


@pytest.mark.parametrize("where", ["near", "under"])
async def test_near_or_under_the_floor_float32_decides(
        tmp_path, model_dir, kb_dir, kb_index, domain, question_scores, where):
    int8 = question_scores["int8"][0]["score"]
    margin = Settings.model_fields["response_screen_margin"].default
    floor = int8 + margin / 2 if where == "near" else 0.0  # within the default margin, or every reply covered
    meta = await annotation(serve(tmp_path, model_dir, kb_dir, kb_index, floor=floor), domain)
    assert "candidates_screened" not in meta
    assert meta["candidates"] == [{"text": c["text"], "score": c["score"]} for c in question_scores["float32"]]
    fp32 = question_scores["float32"][0]["score"]
    assert meta["answer_source"] == ("responses" if fp32 >= floor else "kb")
    if where == "under":
        assert meta["template"] == question_scores["float32"][0]["text"]  # float32's reply, never the screen's


async def test_a_zero_margin_loads_no_screen(tmp_path, model_dir, kb_dir, kb_index, domain, question_scores):
    services = serve(tmp_path, model_dir, kb_dir, kb_index, floor=0.99, response_screen_margin=0.0)
    assert services.status()["response_screen"] is False and services.selector.model.screen_encoder is None
    meta = await annotation(services, domain)
    assert "candidates_screened" not in meta and meta["answer_source"] == "kb"
    assert meta["candidates"] == [{"text": c["text"], "score": c["score"]} for c in question_scores["float32"]]


async def test_a_model_without_its_int8_copy_answers_in_float32(
        tmp_path, model_dir, kb_dir, kb_index, domain, question_scores, caplog):
    copy = tmp_path / "no-int8"
    shutil.copytree(model_dir, copy)
    shutil.rmtree(copy / "encoder-onnx-int8")
    services = serve(tmp_path, copy, kb_dir, kb_index, floor=0.99)
    assert services.status()["response_screen"] is False
    assert any("has no int8 screen" in r.getMessage() for r in caplog.records)
    meta = await annotation(services, domain)
    assert "candidates_screened" not in meta and meta["answer_source"] == "kb"
    assert meta["candidates"] == [{"text": c["text"], "score": c["score"]} for c in question_scores["float32"]]
