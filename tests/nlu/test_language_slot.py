"""The conversation's language from the message metadata fills Rasa's `language` slot, and the response
variation conditioned on it is the one sent (a real `rasa train` and Rasa's Agent; no encoder needed)."""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest

from tests.nlu.conftest import RASA_PYTHON, run_rasa_python

pytestmark = pytest.mark.slow

CONFIG = """\
recipe: default.v1
language: en
assistant_id: language-slot-test
pipeline:
  - name: rasa_plugins.tokenizer.BilingualTokenizer
  - name: rasa_plugins.language_slot.MetadataLanguageExtractor
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 3
  - name: LogisticRegressionClassifier
policies:
  - name: RulePolicy
"""
DOMAIN = """\
version: "3.1"
intents: [greet, goodbye]
entities: [language]
slots:
  language:
    type: categorical
    values: [en, zh]
    influence_conversation: false
    mappings:
      - type: from_entity
        entity: language
responses:
  utter_greet:
    - text: "Hello!"
    - text: "您好！"
      condition:
        - type: slot
          name: language
          value: zh
  utter_goodbye:
    - text: "Bye!"
session_config: {session_expiration_time: 60, carry_over_slots_to_new_session: true}
"""
DATA = """\
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
    - hi there
    - 你好
    - 您好
- intent: goodbye
  examples: |
    - bye
    - goodbye
    - 再见
    - 拜拜
rules:
- rule: greet
  steps: [{intent: greet}, {action: utter_greet}]
- rule: bye
  steps: [{intent: goodbye}, {action: utter_goodbye}]
"""
ASK = textwrap.dedent("""
    import asyncio, json
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    agent = Agent.load("models/lang.tar.gz")
    async def say(text, sender, metadata):
        out = CollectingOutputChannel()
        await agent.handle_message(UserMessage(text, out, sender, metadata=metadata))
        tracker = await agent.tracker_store.retrieve(sender)
        return {"texts": [m.get("text") for m in out.messages], "slot": tracker.get_slot("language")}
    async def main():
        print(json.dumps({
            "zh": await say("你好", "a", {"language": "zh"}),
            "en": await say("hello", "b", {"language": "en"}),
            "none": await say("hello", "c", None),
            "bogus": await say("hello", "d", {"language": "<b>fr</b>"}),
            "kept": await say("hi there", "a", None),
        }, ensure_ascii=False))
    asyncio.run(main())
""")


def test_metadata_language_picks_the_response_variation(tmp_path, rasa_env):
    (tmp_path / "data").mkdir()
    (tmp_path / "config.yml").write_text(CONFIG)
    (tmp_path / "domain.yml").write_text(DOMAIN)
    (tmp_path / "data" / "data.yml").write_text(DATA, encoding="utf-8")
    cmd = [str(RASA_PYTHON.parent / "rasa"), "train", "--fixed-model-name", "lang", "--out", "models"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=rasa_env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(run_rasa_python(ASK, rasa_env, tmp_path).stdout.strip().splitlines()[-1])
    assert result["zh"] == {"texts": ["您好！"], "slot": "zh"}
    assert result["en"] == {"texts": ["Hello!"], "slot": "en"}
    assert result["none"] == {"texts": ["Hello!"], "slot": None}
    assert result["bogus"] == {"texts": ["Hello!"], "slot": None}  # only known codes reach the slot
    assert result["kept"] == {"texts": ["您好！"], "slot": "zh"}  # a message without metadata keeps the slot
