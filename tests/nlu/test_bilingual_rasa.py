"""A real `rasa train` of a tiny bilingual bot with the product's config.bilingual.yml: Chinese and English messages
are classified by one model, with the config's per-language weights for Chinese rows (the archive carries them);
the bilingual tokenizer leaves English tokens as Rasa's whitespace ones."""

from __future__ import annotations

import json
import tarfile
import textwrap

import pytest

from tests.nlu.conftest import run_rasa_python
from tests.nlu.test_rasa_components import EXAMPLES, train_bot
from tests.support import ROOT

pytestmark = pytest.mark.slow

CHINESE = {
    "greet": ["你好", "您好", "早上好", "嗨，在吗", "你好，请问有人吗"],
    "goodbye": ["再见", "拜拜", "回头见", "好的，再见", "下次聊"],
    "card_arrival": ["我的卡还没寄到", "新卡什么时候能收到", "卡已经寄出很久了还没到", "我一直在等我的卡",
                     "怎么查询卡的邮寄进度"],
    "exchange_rate": ["现在的汇率是多少", "你们用什么汇率", "美元兑人民币汇率怎么算", "汇率从哪里来的",
                      "换外币的汇率是多少"],
    "out_of_scope": ["今天天气怎么样", "给我讲个笑话", "帮我订一份披萨", "推荐一部电影", "我想申请房贷"],
}

PARSE = textwrap.dedent("""
    import asyncio, json
    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.message import Message
    from rasa_plugins.tokenizer import BilingualTokenizer
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
    agent = Agent.load("models/small.tar.gz")
    texts = ["申请的新卡过了两个星期还没收到", "欧元换英镑的价格是多少", "您好呀", "my new card still has not arrived",
             "what rate do you use for dollars?", "the card ends with 4455"]
    english = "Hi there, my card (ending 4455) hasn't arrived; top-up failed!"
    config = {**WhitespaceTokenizer.get_default_config()}
    def tokens(cls, text):
        return [(t.text, t.start, t.end) for t in cls(config).tokenize(Message(data={"text": text}), "text")]
    async def main():
        out = {}
        for t in texts:
            r = await agent.parse_message(t)
            out[t] = {"intent": r["intent"]["name"], "entities": [(e["entity"], e["value"]) for e in r["entities"]]}
        print(json.dumps({"parsed": out, "zh_tokens": tokens(BilingualTokenizer, "我的银行卡丢了，怎么办？"),
                          "en_same": tokens(BilingualTokenizer, english) == tokens(WhitespaceTokenizer, english)},
                         ensure_ascii=False))
    asyncio.run(main())
""")


@pytest.fixture(scope="module")
def bilingual_bot(tmp_path_factory, rasa_env):
    examples = {intent: rows + CHINESE.get(intent, []) for intent, rows in EXAMPLES.items()}
    return train_bot(tmp_path_factory.mktemp("bilingual"), rasa_env, examples, config="config.bilingual.yml")


def test_one_model_classifies_chinese_and_english(bilingual_bot, rasa_env):
    bot, _ = bilingual_bot
    result = json.loads(run_rasa_python(PARSE, rasa_env, bot).stdout.strip().splitlines()[-1])
    intents = {text: p["intent"] for text, p in result["parsed"].items()}
    assert intents["申请的新卡过了两个星期还没收到"] == "card_arrival"
    assert intents["欧元换英镑的价格是多少"] == "exchange_rate"
    assert intents["您好呀"] == "greet"
    assert intents["my new card still has not arrived"] == "card_arrival"
    assert intents["what rate do you use for dollars?"] == "exchange_rate"
    assert result["parsed"]["the card ends with 4455"]["entities"] == [["card_last4", "4455"]]
    # jieba's words with offsets into the original text, punctuation dropped; English exactly as before
    assert [t[0] for t in result["zh_tokens"]] == ["我", "的", "银行卡", "丢", "了", "怎么办"]
    assert result["zh_tokens"][2][1:] == [2, 5]
    assert result["en_same"] is True


def test_the_model_carries_the_per_language_weights_of_the_config(bilingual_bot):
    import yaml

    bot, _ = bilingual_bot
    pipeline = yaml.safe_load((ROOT / "config.bilingual.yml").read_text(encoding="utf-8"))["pipeline"]
    config = next(c for c in pipeline if c["name"].endswith("CalibratedIntentClassifier"))
    assert config["language_weights"]["zh"]  # the bilingual config weighs Chinese rows its own way
    with tarfile.open(bot / "models" / "small.tar.gz") as archive:
        name = next(n for n in archive.getnames() if n.endswith("intent_model.json"))
        meta = json.load(archive.extractfile(name))
    assert meta["language_weights"] == config["language_weights"]
    assert meta["language_sample_weight"] == (config.get("language_sample_weight") or {})
    assert sorted(meta["blocks"]) == ["char_ngrams", "e5", "minilm", "word_ngrams"]
