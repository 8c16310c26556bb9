"""Rasa NLU component: the conversation's language, sent by the bot service, as a `language` entity.

The bot service detects each customer message's language and sends the conversation's (the majority
of its messages', bot/language.py) in the message metadata: `{"language": "zh"}`. Rasa has no slot
mapping from metadata, so this component turns it into an entity, and the domain's `language` slot
(`from_entity: language`) is filled on every message; responses pick their variation with
`condition: [{type: slot, name: language, value: zh}]`. A message without that metadata (the REST
channel, `supportbot eval intents`) adds nothing, and the slot keeps its value.

Only codes in `languages` are accepted, so a client cannot put arbitrary text into the slot.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

ENTITY = "language"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class MetadataLanguageExtractor(GraphComponent, EntityExtractorMixin):
    """Adds `{"entity": "language", "value": CODE}` from the message metadata's `language`."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"languages": ["en", "zh"]}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.languages = {str(code) for code in config.get("languages") or []}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "MetadataLanguageExtractor":
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            metadata = message.get("metadata") or {}
            code = metadata.get(ENTITY) if isinstance(metadata, dict) else None
            if code not in self.languages or not message.get(TEXT):
                continue
            entity = {"entity": ENTITY, "value": code, "start": 0, "end": 0, "confidence": 1.0,
                      "extractor": self.__class__.__name__}
            message.set(ENTITIES, list(message.get(ENTITIES, [])) + [entity], add_to_output=True)
        return messages
