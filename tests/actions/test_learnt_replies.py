"""Learnt replies where the logs cover a flow: action_answer_question before and after a first model.

Real parts throughout: the small real KB index, the first model trained in-process from a tiny real
log set (200 bank-domain STAR conversations, two optimiser steps from the base encoder, so it scores
about as the base encoder does), promoted by the real gate into a real SQLite registry, calibrated
on KB questions, and served by the action services' ResponseSelector. Messages are phrased as
customers phrase them in STAR's bank conversations; the intents are what the NLU routes to
action_answer_question (data/rules.yml).
"""

from __future__ import annotations

import re

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.answer import ActionAnswerQuestion
from actions.services import ActionServices
from finetune.templates import fill_placeholders
from tests.actions.conftest import make_settings
from tests.actions.trackers import make_tracker, payloads, responses, texts
from tests.finetune.star_logs import write_bank_logs

FRAUD = ("I think someone used my card without me knowing, I want to report fraud", "card_payment_not_recognised")
KB_QUESTION = ("How long does it take for my new card to arrive?", "card_arrival")
CARD_ARRIVAL_URL = "https://help.harborbank.example/articles/card-arrival"
SLOTS = {"customer_name": "Ada Lovelace"}


async def answer(services: ActionServices, domain: dict, text: str, intent: str) -> tuple[list[str], dict]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text, intent, 0.9, slots=SLOTS)
    assert await ActionAnswerQuestion(services).run(dispatcher, tracker, domain) == []
    return texts(dispatcher) + responses(dispatcher), payloads(dispatcher)[-1]


@pytest.fixture(scope="module")
def stack(tmp_path_factory, kb_dir, kb_index):
    """Settings of a bank with no response model yet, its logs, and action services warmed up on it."""
    tmp = tmp_path_factory.mktemp("learnt")
    settings = make_settings(
        tmp / "var", kb_dir, first_model_logs=str(write_bank_logs(tmp / "bank.jsonl")), first_model_max_steps=2,
        first_model_layers=0,  # the whole encoder: two steps from a shallower copy would not pass the gate
        finetune_batch_size=8, finetune_device="cpu", finetune_holdout_fraction=0.35, promotion_margin=-1.0,
        faiss_device="cpu", response_reload_s=3600.0)
    services = ActionServices.from_settings(settings, index_dir=kb_index)
    assert services.warm_up()["kb"] == "ready"
    return settings, services


@pytest.mark.slow
async def test_a_covered_flow_gets_the_learnt_reply_once_a_model_is_promoted(stack, kb_index, domain):
    from finetune.first_model import train_first_model

    settings, before = stack
    assert before.selector is None or before.selector.model_version is None
    said, meta = await answer(before, domain, *FRAUD)
    assert meta["answer_source"] in ("kb", "low_confidence") and meta["candidates"] == [] and said

    report = train_first_model(settings)
    assert report["promoted"], report["reason"]
    after = ActionServices.from_settings(settings, index_dir=kb_index)
    assert after.warm_up()["response_selector"] == "loaded" and after.selector.model_version == report["version"]

    said, meta = await answer(after, domain, *FRAUD)
    assert meta["answer_source"] == "responses", meta
    assert meta["model_versions"]["responses"] == report["version"]
    top = meta["candidates"][0]
    assert top["score"] >= meta["learnt_min_score"]
    assert meta["template"] in [c["text"] for c in meta["candidates"]]  # the bank's reply, placeholders and all
    assert said == [fill_placeholders(meta["template"], SLOTS)[0]]
    assert not re.search(r"\[[A-Z_]+\]", said[0])  # every placeholder filled or dropped

    said, meta = await answer(after, domain, *KB_QUESTION)
    assert meta["answer_source"] == "kb" and meta["sources"][0]["url"] == CARD_ARRIVAL_URL
    assert meta["candidates"][0]["score"] < meta["learnt_min_score"]  # proposed, but below the model's threshold
