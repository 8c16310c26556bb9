"""Rasa tokenizer for English and Chinese in one pipeline: Rasa's whitespace rules, then jieba for Chinese.

Rasa allows one tokenizer per pipeline, and neither of its own fits a bilingual bot: the
`WhitespaceTokenizer` turns a Chinese sentence (no spaces) into a single "word", the `JiebaTokenizer`
changes how English is split. `BilingualTokenizer` runs the whitespace rules first; every token that
contains a CJK ideograph is then segmented with jieba (`我的银行卡丢了` → `我 的 银行卡 丢 了`), with
offsets kept into the original text and punctuation-only pieces dropped.

Invariant: a message without CJK characters gets exactly the `WhitespaceTokenizer`'s tokens, so an
English-only bot's features, and its accuracy, do not change with this tokenizer.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message

from rasa_plugins.cjk import has_cjk, initialise, segment


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class BilingualTokenizer(WhitespaceTokenizer):
    """Whitespace tokens; tokens holding Chinese characters segmented further by jieba."""

    @staticmethod
    def not_supported_languages() -> Optional[List[Text]]:
        return None

    @staticmethod
    def required_packages() -> List[Text]:
        return ["jieba"]

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "BilingualTokenizer":
        initialise()
        return cls(config)

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        tokens = super().tokenize(message, attribute)
        if not any(has_cjk(token.text) for token in tokens):
            return tokens
        out: List[Token] = []
        for token in tokens:
            if not has_cjk(token.text):
                out.append(token)
                continue
            pieces = segment(token.text)
            if not pieces:
                out.append(token)
            for word, offset in pieces:
                out.append(Token(word, token.start + offset))
        return out
