"""Our Rasa components in a real `rasa train` of a small bot, then loaded and asked by Rasa's Agent."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import textwrap

import pytest

from tests.nlu.conftest import RASA_PYTHON, run_rasa_python
from tests.support import ROOT

pytestmark = pytest.mark.slow  # every test uses a real `rasa train` of a small bot

DOMAIN = """\
version: "3.1"
intents: [greet, goodbye, card_arrival, exchange_rate, out_of_scope, inform]
entities: [card_last4]
responses:
  utter_greet: [{text: "Hello!"}]
  utter_card: [{text: "Cards arrive within a week."}]
  utter_rate: [{text: "We use the interbank rate."}]
  utter_default: [{text: "Let me look that up."}]
session_config: {session_expiration_time: 60, carry_over_slots_to_new_session: true}
"""
RULES = """\
version: "3.1"
rules:
- rule: greet
  steps: [{intent: greet}, {action: utter_greet}]
- rule: card
  steps: [{intent: card_arrival}, {action: utter_card}]
- rule: rate
  steps: [{intent: exchange_rate}, {action: utter_rate}]
- rule: unsure
  steps: [{intent: nlu_fallback}, {action: utter_default}]
"""
EXAMPLES = {
    "greet": ["hi", "hello", "hey there", "good morning", "hello, anyone there?", "hiya", "good evening", "hey"],
    "goodbye": ["bye", "goodbye", "see you later", "talk to you later", "have a nice day", "bye bye", "cheers, bye",
                "that's all, goodbye"],
    "card_arrival": ["where is my card?", "my card hasn't arrived", "when will my card come?",
                     "I'm still waiting for my new card", "how long until the card is delivered?",
                     "the card has not been delivered yet", "my card still hasn't shown up", "is my card on its way?"],
    "exchange_rate": ["what exchange rate do you use?", "how are exchange rates calculated?",
                      "what's the rate for euros?", "is the exchange rate fixed?", "which rate do you apply abroad?",
                      "how much is a dollar in pounds with you?", "where do your exchange rates come from?",
                      "do you use the real exchange rate?"],
    "out_of_scope": ["what's the weather", "tell me a joke", "order a pizza", "who won the match",
                     "recommend a movie", "how tall is everest", "can I get a mortgage?", "what's your loan rate?"],
    "inform": ["it ends in [4821](card_last4)", "[1234](card_last4)", "last four are [9981](card_last4)",
               "the card ending [5512](card_last4)", "ends with [7001](card_last4)", "digits [3345](card_last4)",
               "it's [0420](card_last4)", "the number finishes with [6677](card_last4)"],
}

PARSE = textwrap.dedent("""
    import asyncio, json
    from rasa.core.agent import Agent
    agent = Agent.load("models/small.tar.gz")
    texts = ["hello there", "my new card still has not arrived", "what rate do you use for dollars?",
             "the card ends with 4455", "what is the capital of peru", "zxqv wplk", "bye"]
    async def main():
        out = []
        for t in texts:
            r = await agent.parse_message(t)
            out.append({"text": t, "intent": r["intent"], "ranking": r.get("intent_ranking", []),
                        "out_of_scope": r.get("out_of_scope"),
                        "entities": [(e["entity"], e["value"]) for e in r.get("entities", [])]})
        reply = await agent.handle_text("my card hasn't come yet", sender_id="t1")
        print(json.dumps({"parsed": out, "reply": [m.get("text") for m in reply]}))
    asyncio.run(main())
""")


def nlu_yaml(examples_by_intent: dict | None = None) -> str:
    lines = ['version: "3.1"', "nlu:"]
    for intent, examples in (examples_by_intent or EXAMPLES).items():
        lines += [f"- intent: {intent}", "  examples: |"] + [f"    - {e}" for e in examples]
    lines += ["- regex: card_last4", "  examples: |", r"    - \b\d{4}\b"]
    return "\n".join(lines) + "\n"


def train_bot(bot, rasa_env, examples_by_intent: dict | None = None, config: str = "config.yml"):
    """`rasa train` of the small bot in `bot` with one of the product's configs (`config`), unchanged."""
    (bot / "data").mkdir()
    shutil.copy(ROOT / config, bot / "config.yml")
    (bot / "domain.yml").write_text(DOMAIN)
    (bot / "data" / "rules.yml").write_text(RULES)
    (bot / "data" / "nlu.yml").write_text(nlu_yaml(examples_by_intent))
    cmd = [str(RASA_PYTHON.parent / "rasa"), "train", "--fixed-model-name", "small", "--out", "models"]
    proc = subprocess.run(cmd, cwd=bot, env=rasa_env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return bot, proc


@pytest.fixture(scope="module")
def small_bot(tmp_path_factory, rasa_env):
    return train_bot(tmp_path_factory.mktemp("smallbot"), rasa_env)


def test_rasa_train_persists_the_classifier_and_its_calibration(small_bot):
    bot, proc = small_bot
    assert "intent classifier" in proc.stderr  # our progress bar
    with tarfile.open(bot / "models" / "small.tar.gz") as archive:
        names = archive.getnames()
        meta_name = next(n for n in names if n.endswith("intent_model.json"))
        meta = json.load(archive.extractfile(meta_name))
    assert any(n.endswith("intent_model.npz") for n in names)
    assert sorted(meta["classes"]) == sorted(EXAMPLES)
    assert meta["blocks"] == ["char_ngrams", "minilm", "word_ngrams"]  # dense + two sparse featurizers
    report = meta["report"]
    assert report["threshold_learnt"] and 0.0 <= report["threshold"] < 1.0
    in_scope = sum(len(v) for k, v in EXAMPLES.items() if k != "out_of_scope")
    assert report["pseudo_oos_examples"] == in_scope  # every in-scope example, scored with its intent left out
    assert report["out_of_fold_at_threshold"]["oos_examples"] == len(EXAMPLES["out_of_scope"]) + in_scope


def test_loaded_model_classifies_extracts_and_falls_back(small_bot, rasa_env):
    bot, _ = small_bot
    result = json.loads(run_rasa_python(PARSE, rasa_env, bot).stdout.strip().splitlines()[-1])
    parsed = {p["text"]: p for p in result["parsed"]}
    assert parsed["hello there"]["intent"]["name"] == "greet"
    assert parsed["my new card still has not arrived"]["intent"]["name"] == "card_arrival"
    assert parsed["what rate do you use for dollars?"]["intent"]["name"] == "exchange_rate"
    assert parsed["bye"]["intent"]["name"] == "goodbye"
    informed = parsed["the card ends with 4455"]
    assert informed["intent"]["name"] == "inform" and informed["entities"] == [["card_last4", "4455"]]
    for text in ("what is the capital of peru", "zxqv wplk"):
        assert parsed[text]["intent"]["name"] in ("out_of_scope", "nlu_fallback"), parsed[text]
    for p in result["parsed"]:  # a ranking of real intents always follows, confidences sum to <= 1
        real = [r for r in p["ranking"] if r["name"] != "nlu_fallback"]
        assert real and sum(r["confidence"] for r in real) <= 1.0 + 1e-6
        detector = p["out_of_scope"]
        if p["intent"]["name"] == "nlu_fallback":  # below the learnt threshold, the fallback leads the ranking
            assert p["ranking"][0]["name"] == "nlu_fallback" and detector["score"] < detector["threshold"]
            assert p["intent"]["confidence"] == pytest.approx(1.0 - detector["score"])
        else:
            assert detector["score"] >= detector["threshold"]
    assert result["reply"] == ["Cards arrive within a week."]  # the rules run on our intents


def test_missing_encoder_export_fails_training_with_the_fix(small_bot, rasa_env, tmp_path):
    bot, _ = small_bot
    env = {**rasa_env, "SUPPORTBOT_NLU_ONNX_DIR": str(tmp_path / "no-export")}
    cmd = [str(RASA_PYTHON.parent / "rasa"), "train", "nlu", "--out", str(tmp_path / "models")]
    proc = subprocess.run(cmd, cwd=bot, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "supportbot nlu export-onnx" in proc.stdout + proc.stderr


def test_model_refuses_an_encoder_it_was_not_trained_with(small_bot, rasa_env, onnx_dir, tmp_path):
    bot, _ = small_bot
    other = tmp_path / "other-export"
    other.mkdir()
    for name in ("model.onnx", "tokenizer.json"):
        (other / name).symlink_to(onnx_dir / name)
    manifest = json.loads((onnx_dir / "manifest.json").read_text())
    (other / "manifest.json").write_text(json.dumps(manifest | {"encoder_fingerprint": "sha256:fine-tuned-elsewhere"}))
    code = "from rasa.core.agent import Agent\nAgent.load('models/small.tar.gz')\n"
    proc = subprocess.run([str(RASA_PYTHON), "-c", code], cwd=bot, capture_output=True, text=True, timeout=300,
                          env={**rasa_env, "SUPPORTBOT_NLU_ONNX_DIR": str(other)})
    assert proc.returncode != 0
    assert "Retrain the model (`supportbot train`)" in proc.stderr
