"""The concise KB answer and its one embedding, against a real small index and real Trackers.

* the answer is one message within `kb_answer_words`, with the source line and a working "Show the
  full article" button (`action_show_full_article` sends the paragraphs the answer left out);
* the embedding Rasa's featurizer computes (run in the Rasa runtime over a real ONNX export) is the
  vector the action searches with: cosine ≥ 0.999 with the KB encoder's own vector for that text,
  and the action then encodes nothing; a message without it is encoded exactly once.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answer import ActionAnswerQuestion, ActionShowFullArticle, carried_vector
from actions.excerpt import cut_words, excerpt, split_blocks, word_count
from actions.formatting import FULL_ARTICLE_BUTTON
from rasa_plugins import embedding_wire
from tests.actions.trackers import payloads, tracker_state
from tests.nlu.conftest import RASA_PYTHON, rasa_env, run_rasa_python  # noqa: F401 - fixtures

BANK_TRANSFER_URL = "https://help.harborbank.example/articles/top-up-by-bank-transfer-charge"
QUESTION = "How much does it cost to top up by bank transfer?"

FEATURIZE = r"""
import json, sys, tempfile
from pathlib import Path
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa_plugins.featurizer import OnnxSentenceFeaturizer
storage = LocalModelStorage(Path(tempfile.mkdtemp()))
featurizer = OnnxSentenceFeaturizer.create(OnnxSentenceFeaturizer.get_default_config(), storage,
                                           Resource("minilm"), ExecutionContext(GraphSchema({}), "t"))
messages = [Message(data={"text": t}) for t in json.loads(sys.argv[1])]
featurizer.process(messages)
print(json.dumps([m.as_dict(only_output_properties=True) for m in messages]))  # what Rasa's parse data gets
"""


class CountingEncoder:
    """The retriever's real encoder, counting how many texts it is asked to encode."""

    def __init__(self, inner):
        self.inner, self.texts = inner, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode(self, texts, progress=False):
        self.texts += len(texts)
        return self.inner.encode(texts, progress=progress)


@pytest.fixture
def counting(warm_services):
    encoder = CountingEncoder(warm_services.retriever.encoder)
    warm_services.retriever.encoder = encoder
    yield encoder
    warm_services.retriever.encoder = encoder.inner


def tracker_with(text, intent, confidence=0.95, parse_extra=None, events_after=()):
    state = tracker_state(text, intent, confidence)
    state["latest_message"].update(parse_extra or {})
    state["events"][-1]["parse_data"] = state["latest_message"]
    state["events"] += list(events_after)
    return state


async def answer(services, domain, state) -> CollectingDispatcher:
    dispatcher = CollectingDispatcher()
    assert await ActionAnswerQuestion(services).run(dispatcher, Tracker.from_dict(state), domain) == []
    return dispatcher


def bubbles(dispatcher) -> list[dict]:
    return [m for m in dispatcher.messages if m.get("text") or m.get("response")]


async def test_kb_answer_is_one_message_within_the_limit_with_a_full_article_button(warm_services, domain, counting):
    d = await answer(warm_services, domain, tracker_with(QUESTION, "top_up_by_bank_transfer_charge", 0.93))
    [message] = bubbles(d)
    body, source = message["text"].rsplit("\n\n", 1)
    assert source == f"Source: Fees for topping up by bank transfer – {BANK_TRANSFER_URL}"
    assert 5 <= word_count(body) <= warm_services.settings.kb_answer_words
    [button] = message["buttons"]
    assert button["title"] == FULL_ARTICLE_BUTTON
    intent, entities = re.fullmatch(r"/(\w+)(\{.*\})", button["payload"]).groups()
    assert intent == "show_full_article" and json.loads(entities) == {"kb_article": BANK_TRANSFER_URL}
    [meta] = payloads(d)
    used = meta["sources"][0]["passages"]
    assert used and all(isinstance(p["paragraph"], int) and p["text"] for p in used)
    assert meta["embedding"] == "encoded" and counting.texts == 1  # no Rasa vector: encoded once

    # the button, as Rasa delivers it: the payload's entity, the answer's events before it
    bot_events = [{"event": "bot", "text": m.get("text"), "data": {"custom": m.get("custom"), "buttons": m.get("buttons")}}
                  for m in d.messages]
    state = tracker_state(button["payload"], "show_full_article", 1.0)
    state["latest_message"]["entities"] = [{"entity": "kb_article", "value": BANK_TRANSFER_URL}]
    state["events"][-1:-1] = bot_events
    full = CollectingDispatcher()
    await ActionShowFullArticle(warm_services).run(full, Tracker.from_dict(state), domain)
    [rest] = [m["text"] for m in full.messages if m.get("text")]
    article = warm_services.catalog.by_url[BANK_TRANSFER_URL]
    shown = {p["paragraph"] for p in used}
    for i, block in enumerate(article.blocks):
        assert (block[:30] in rest) == (i not in shown), i  # the rest, and only the rest
    assert rest.endswith(BANK_TRANSFER_URL)
    assert payloads(full)[0]["answer_source"] == "kb_full_article"


async def test_full_article_for_an_unknown_article_is_a_polite_reply(warm_services, domain):
    state = tracker_state("/show_full_article", "show_full_article", 1.0)
    state["latest_message"]["entities"] = [{"entity": "kb_article", "value": "https://elsewhere.example/x"}]
    d = CollectingDispatcher()
    await ActionShowFullArticle(warm_services).run(d, Tracker.from_dict(state), domain)
    assert [m.get("response") for m in d.messages if m.get("response")] == ["utter_low_confidence"]


def test_excerpt_picks_the_closest_paragraphs_in_article_order_and_cuts_at_a_sentence():
    blocks = ["one two three.", "alpha beta gamma delta.", "x " * 80 + "end."]
    vectors = np.eye(3, dtype=np.float32)
    part = excerpt(blocks, vectors, np.array([0.1, 0.9, 0.0]), limit=10)
    assert part.blocks == (0, 1) and part.rest == (2,) and not part.cut  # best + runner-up, in order
    long = excerpt(blocks, vectors, np.array([0, 0, 1.0]), limit=10)
    assert long.blocks == (2,) and long.cut and word_count(long.text) <= 11
    assert cut_words("First one here. Second one is longer than that.", 5) == "First one here."
    assert split_blocks("# T\n\nIntro.\n\n## Fees\n\n- a\n- b", "T") == ["Intro.", "Fees\n- a\n- b"]


@pytest.fixture(scope="module")
def rasa_parse_data(onnx_dir, rasa_env, tmp_path_factory):  # noqa: F811 - fixtures of tests.nlu.conftest
    """The parse data Rasa's featurizer (in the Rasa runtime) gives two messages."""
    if not RASA_PYTHON.exists():
        pytest.fail("the Rasa runtime (.venv-rasa) is not installed: run `make setup`")
    texts = [QUESTION, "my card payment was declined, why?"]
    out = run_rasa_python(FEATURIZE.replace("json.loads(sys.argv[1])", repr(texts)), rasa_env,
                          tmp_path_factory.mktemp("featurize"))
    return dict(zip(texts, json.loads(out.stdout.strip().splitlines()[-1])))


async def test_the_action_searches_with_the_embedding_rasa_computed(warm_services, domain, counting, rasa_parse_data):
    fingerprint = warm_services.retriever.encoder.fingerprint
    for text, parsed in rasa_parse_data.items():
        packed = parsed[embedding_wire.KEY]
        assert len(json.dumps(packed)) < 1200  # compact: ~1 KB per message, not a JSON list of floats
        carried = carried_vector(parsed, fingerprint)
        assert carried is not None  # exported from the same sentence-transformer as the index's
        own = warm_services.retriever.encoder.inner.encode([text])[0]
        assert float(carried @ own) >= 0.999
    counting.texts = 0
    state = tracker_with(QUESTION, "top_up_by_bank_transfer_charge", 0.93,
                         {embedding_wire.KEY: rasa_parse_data[QUESTION][embedding_wire.KEY]})
    d = await answer(warm_services, domain, state)
    [meta] = payloads(d)
    assert meta["embedding"] == "rasa" and counting.texts == 0  # the action encoded nothing
    assert meta["sources"][0]["url"] == BANK_TRANSFER_URL


async def test_an_embedding_of_another_encoder_is_not_used(warm_services, domain, counting):
    vector = np.ones(384, dtype=np.float32) / np.sqrt(384)
    state = tracker_with(QUESTION, "top_up_by_bank_transfer_charge", 0.93,
                         {embedding_wire.KEY: embedding_wire.pack(vector, "sha256:another-model")})
    d = await answer(warm_services, domain, state)
    [meta] = payloads(d)
    assert meta["embedding"] == "encoded" and counting.texts == 1
    assert meta["sources"][0]["url"] == BANK_TRANSFER_URL


def test_wire_format_round_trips_and_rejects_garbage():
    rng = np.random.default_rng(0)
    v = rng.normal(size=384).astype(np.float32)
    v /= np.linalg.norm(v)
    packed = embedding_wire.pack(v, "enc")
    assert float(embedding_wire.unpack(packed, "enc") @ v) > 0.99999
    assert embedding_wire.unpack(packed, "other") is None
    assert embedding_wire.unpack({**packed, "data": "!!"}) is None
    assert embedding_wire.unpack({**packed, "dim": 3}) is None
    assert embedding_wire.unpack(None) is None


async def test_close_intents_offer_the_runner_ups_article_and_its_button_answers_from_it(warm_services, domain):
    ranking = {"intent_ranking": [{"name": "top_up_by_bank_transfer_charge", "confidence": 0.48},
                                  {"name": "top_up_by_card_charge", "confidence": 0.41}]}
    d = await answer(warm_services, domain, tracker_with(QUESTION, "top_up_by_bank_transfer_charge", 0.48, ranking))
    [message] = bubbles(d)
    card = warm_services.catalog.get("top_up_by_card_charge")
    offered = [b for b in message["buttons"] if b["payload"] == "/top_up_by_card_charge"]
    assert offered == [{"title": f"Did you mean: {card.title}?", "payload": "/top_up_by_card_charge"}]
    assert message["text"].endswith(BANK_TRANSFER_URL)  # the best intent's article still answers
    assert payloads(d)[0]["alternative"] == "top_up_by_card_charge"

    pressed = await answer(warm_services, domain, tracker_state("/top_up_by_card_charge", "top_up_by_card_charge", 1.0))
    [reply] = bubbles(pressed)
    assert reply["text"].endswith(card.url)  # answered from the runner-up's article
    assert not any(b["payload"].startswith("/top_up") for b in reply.get("buttons") or [])  # nothing offered again

    distant = {"intent_ranking": [{"name": "top_up_by_bank_transfer_charge", "confidence": 0.9},
                                  {"name": "top_up_by_card_charge", "confidence": 0.05}]}
    d = await answer(warm_services, domain, tracker_with(QUESTION, "top_up_by_bank_transfer_charge", 0.9, distant))
    [message] = bubbles(d)
    assert [b["payload"] for b in message.get("buttons") or [] if not b["payload"].startswith("/show_full")] == []
    assert "alternative" not in payloads(d)[0]


async def test_when_the_search_answers_with_the_runner_ups_article_the_best_intents_is_offered(warm_services, domain):
    # the classifier fell back, its two best real intents close; the search answers from the card-charge article
    question = "How much does it cost to top up with my debit card?"
    ranking = {"intent_ranking": [{"name": "nlu_fallback", "confidence": 0.3},
                                  {"name": "top_up_by_bank_transfer_charge", "confidence": 0.26},
                                  {"name": "top_up_by_card_charge", "confidence": 0.24}]}
    d = await answer(warm_services, domain, tracker_with(question, "nlu_fallback", 0.3, ranking))
    [message] = bubbles(d)
    card = warm_services.catalog.get("top_up_by_card_charge")
    bank = warm_services.catalog.get("top_up_by_bank_transfer_charge")
    assert message["text"].endswith(card.url)  # the search's answer: the runner-up's article
    offered = [b for b in message["buttons"] if not b["payload"].startswith("/show_full")]
    assert offered == [{"title": f"Did you mean: {bank.title}?", "payload": "/top_up_by_bank_transfer_charge"}]
