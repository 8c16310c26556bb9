"""A new bot's first day: a real `rasa train` of a tiny bot with NO out-of-scope examples must still
reject obviously off-topic messages (the detector learns from intents left out) and keep in-scope ones."""

from __future__ import annotations

import json
import tarfile
import textwrap

import pytest

from tests.nlu.conftest import run_rasa_python
from tests.nlu.test_rasa_components import EXAMPLES, train_bot

pytestmark = pytest.mark.slow  # a real `rasa train` of a small bot

IN_SCOPE = {
    "hello there": "greet",
    "good morning to you": "greet",
    "my new card still has not arrived": "card_arrival",
    "when is my card going to be delivered?": "card_arrival",
    "what rate do you use for dollars?": "exchange_rate",
    "which exchange rate applies to euros?": "exchange_rate",
    "bye for now": "goodbye",
}
OFF_TOPIC = ["what is the capital of peru", "recommend a good movie for tonight", "how do I bake sourdough bread",
             "who won the football world cup", "write me a poem about the sea", "my cat keeps sneezing"]

PARSE = textwrap.dedent("""
    import asyncio, json, sys
    from rasa.core.agent import Agent
    agent = Agent.load("models/small.tar.gz")
    texts = json.loads(sys.argv[1]) if len(sys.argv) > 1 else TEXTS
    async def main():
        print(json.dumps({t: (await agent.parse_message(t))["intent"]["name"] for t in texts}))
    asyncio.run(main())
""")


@pytest.fixture(scope="module")
def bot_without_oos(tmp_path_factory, rasa_env):
    examples = {intent: texts for intent, texts in EXAMPLES.items() if intent != "out_of_scope"}
    return train_bot(tmp_path_factory.mktemp("no-oos-bot"), rasa_env, examples)[0]


def test_threshold_is_learnt_from_intents_left_out_and_stored_with_the_model(bot_without_oos):
    with tarfile.open(bot_without_oos / "models" / "small.tar.gz") as archive:
        meta = json.load(archive.extractfile(next(n for n in archive.getnames() if n.endswith("intent_model.json"))))
    report = meta["report"]
    assert "out_of_scope" not in meta["classes"] and report["out_of_fold_at_threshold"]["oos_examples"] > 0
    assert report["detector"] == "knn" and report["pseudo_oos_examples"] == report["examples"]
    assert report["threshold_learnt"] and 0.0 < report["threshold"] < 1.0
    assert report["expected_oos_share"] == 0.5  # config.yml's operating point
    # config.yml: the linear SVM alone; without own out-of-scope examples nothing weighs them down
    assert report["kernel"] is None
    assert report["oos_weight"] == 1.0 and report["min_oos_recall"] is None


def test_off_topic_messages_are_rejected_and_in_scope_ones_kept(bot_without_oos, rasa_env):
    texts = list(IN_SCOPE) + OFF_TOPIC
    code = PARSE.replace("TEXTS", json.dumps(texts))
    parsed = json.loads(run_rasa_python(code, rasa_env, bot_without_oos).stdout.strip().splitlines()[-1])
    assert {t: parsed[t] for t in IN_SCOPE} == IN_SCOPE
    assert {t: parsed[t] for t in OFF_TOPIC} == {t: "nlu_fallback" for t in OFF_TOPIC}
