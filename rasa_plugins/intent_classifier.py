"""Rasa intent classifier: `rasa_plugins.intent_model.IntentModel` with a learnt `nlu_fallback` threshold.

Reads the *sentence* features every featurizer before it produced (dense: our ONNX encoder;
sparse: Rasa's CountVectorsFeaturizers), one block per featurizer. Where the out-of-scope detector's
answerable score is below the threshold learnt at training time it predicts `nlu_fallback` the way
Rasa's FallbackClassifier does (fallback first in the ranking, the real ranking after it), so rules
and `undo_fallback_prediction` work unchanged — no separate FallbackClassifier with a fixed 0.3.
The fallback's confidence is 1 - score (how sure the detector is that the message is out of scope);
every parse also carries `out_of_scope: {score, threshold}` for evaluation and the agent console.

Bilingual bots: `language_weights` / `language_sample_weight` (rasa_plugins/language_weights.py) weigh the
feature blocks and training examples of each message's script language (`rasa_plugins.cjk.script_language`:
"zh" or "other"), the same rule at training and at inference; unset, nothing changes.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Dict, List, Optional, Text, Type

import numpy as np
import scipy.sparse as sp
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_plugins.cjk import script_language
from rasa_plugins.intent_model import DETECTORS, Blocks, IntentModel
from rasa_plugins.language_weights import LanguageWeights

log = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class CalibratedIntentClassifier(GraphComponent, IntentClassifier):
    """Linear SVM over dense + sparse sentence features, temperature-calibrated, with learnt fallback."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Featurizer]

    @staticmethod
    def required_packages() -> List[Text]:
        return ["sklearn", "scipy"]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "C": 0.5,  # SVM regularisation (chosen by 5-fold CV on the Banking77 training split)
            "dense_weight": 2.0,  # scale of the sentence embedding block relative to each n-gram block
            "sparse_weight": 1.0,
            "calibration_folds": 5,  # out-of-fold predictions for temperature and threshold
            "oos_intents": ["out_of_scope", "oos"],  # their examples calibrate the fallback threshold
            "threshold": None,  # None: learn it; a number: use it as is
            "max_fallback_rate": 0.15,  # never learn a threshold that drops more in-scope messages
            # the operating point: expected share of out-of-scope messages in traffic (docs/nlu.md)
            "expected_oos_share": 0.5,
            # with own out-of-scope examples: keep at least this share of them rejected, answer the most in-scope
            # messages that allows (null: the expected_oos_share utility decides)
            "min_oos_recall": None,
            "detector": "knn",  # knn: confidence + distance to the intent, learnt with intents left out
            "pseudo_oos_groups": 5,  # intents are left out in this many groups to imitate out-of-scope
            # a bot's own out-of-scope examples: split into clusters of about this many for the SVM (0: never)
            "oos_cluster_size": 100,
            # with at least this many of them, the threshold is chosen on them alone (0: never)
            "own_oos_enough": 200,
            # share of an RBF-kernel SVM on the sentence embedding in the averaged probabilities (0: the linear SVM
            # alone; 0.5 helps large many-intent sets, not Banking77 or small bots: docs/nlu.md)
            "kernel_weight": 0.0,
            "kernel_C": 5.0,
            "fallback_intent": DEFAULT_NLU_FALLBACK_INTENT_NAME,
            "ranking_length": 10,
            # per script language ("zh", "other"): {block alias: multiplier}, e.g. {"zh": {"minilm": 0}}
            "language_weights": None,
            "language_sample_weight": None,  # per script language: weight of its examples in the SVM
            "random_seed": 42,
        }

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 model: Optional[IntentModel] = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.model = model

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "CalibratedIntentClassifier":
        return cls(config, model_storage, resource)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        threshold = config.get("threshold")
        if threshold is not None and not 0.0 <= float(threshold) < 1.0:
            raise InvalidConfigException("CalibratedIntentClassifier: threshold must be in [0, 1) or null (learn it)")
        if "oos_share" in config:
            raise InvalidConfigException("CalibratedIntentClassifier: `oos_share` is now `expected_oos_share`; "
                                         "rename it in config.yml")
        if not 0.0 < float(config.get("expected_oos_share", 0.5)) < 1.0:
            raise InvalidConfigException("CalibratedIntentClassifier: expected_oos_share must be between 0 and 1 "
                                         "(the share of messages you expect to be out of scope, e.g. 0.5)")
        recall = config.get("min_oos_recall")
        if recall is not None and not 0.0 < float(recall) < 1.0:
            raise InvalidConfigException("CalibratedIntentClassifier: min_oos_recall must be between 0 and 1 (the "
                                         "share of out-of-scope messages to reject, e.g. 0.85) or null")
        if config.get("detector", "knn") not in DETECTORS:
            raise InvalidConfigException(f"CalibratedIntentClassifier: detector must be one of {DETECTORS}")
        if int(config.get("oos_cluster_size", 100)) < 0 or int(config.get("own_oos_enough", 200)) < 0:
            raise InvalidConfigException("CalibratedIntentClassifier: oos_cluster_size and own_oos_enough must be "
                                         "0 (off) or a positive number of examples")
        for key in ("language_weights", "language_sample_weight"):
            if config.get(key) is not None and not isinstance(config.get(key), dict):
                raise InvalidConfigException(f"CalibratedIntentClassifier: {key} must map a language code "
                                             "(zh, other) to its weights, e.g. {zh: {minilm: 0.0}}")
        try:
            LanguageWeights(config.get("language_weights"), config.get("language_sample_weight"))
        except (ValueError, AttributeError, TypeError) as exc:
            raise InvalidConfigException(f"CalibratedIntentClassifier: {exc}") from exc
        if not 0.0 <= float(config.get("kernel_weight", 0.0)) < 1.0 or float(config.get("kernel_C", 5.0)) <= 0:
            raise InvalidConfigException("CalibratedIntentClassifier: kernel_weight must be in [0, 1) (0: no kernel "
                                         "SVM) and kernel_C a positive number, e.g. kernel_weight: 0.5, kernel_C: 5")
        if int(config.get("calibration_folds", 5)) < 2:
            raise InvalidConfigException("CalibratedIntentClassifier: calibration_folds must be at least 2")

    # -- training ---------------------------------------------------------------------------
    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if len({e.get(INTENT) for e in examples}) < 2:
            log.warning("CalibratedIntentClassifier needs at least two intents with examples; not trained.")
            return self._resource
        c = self.config
        model = IntentModel(
            C=float(c["C"]), dense_weight=float(c["dense_weight"]), sparse_weight=float(c["sparse_weight"]),
            folds=int(c["calibration_folds"]), oos_intents=tuple(c["oos_intents"]),
            threshold=c["threshold"], max_fallback_rate=float(c["max_fallback_rate"]),
            expected_oos_share=float(c["expected_oos_share"]),
            min_oos_recall=None if c["min_oos_recall"] is None else float(c["min_oos_recall"]), detector=str(c["detector"]),
            pseudo_oos_groups=int(c["pseudo_oos_groups"]), oos_cluster_size=int(c["oos_cluster_size"]),
            own_oos_enough=int(c["own_oos_enough"]), language_weights=c["language_weights"],
            language_sample_weight=c["language_sample_weight"], kernel_weight=float(c["kernel_weight"]),
            kernel_C=float(c["kernel_C"]), seed=int(c["random_seed"]),
        )
        from tqdm import tqdm

        with tqdm(total=model.steps, desc="intent classifier", unit="fit", file=sys.stderr) as bar:
            model.fit(_blocks(examples), [e.get(INTENT) for e in examples], progress=lambda step: bar.update(1),
                      languages=_languages(examples))
        self.model = model
        with self._model_storage.write_to(self._resource) as directory:
            model.save(directory)
        return self._resource

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "CalibratedIntentClassifier":
        try:
            with model_storage.read_from(resource) as directory:
                model = IntentModel.load(directory)
        except (ValueError, FileNotFoundError, OSError, KeyError) as exc:
            log.warning(f"CalibratedIntentClassifier: no trained model in storage ({exc}); it will predict nothing.")
            model = None
        return cls(config, model_storage, resource, model)

    # -- inference --------------------------------------------------------------------------
    def process(self, messages: List[Message]) -> List[Message]:
        todo = [m for m in messages if m.get(TEXT)]
        if self.model is None or not todo:
            return messages
        probs, scores = self.model.predict(_blocks(todo), _languages(todo))
        threshold = float(self.model.threshold)
        length = int(self.config["ranking_length"]) or len(self.model.classes)
        for message, row, score in zip(todo, probs, scores):
            order = np.argsort(-row)[:length]
            ranking = [{"name": self.model.classes[i], "confidence": float(row[i])} for i in order]
            message.set("out_of_scope", {"score": float(score), "threshold": threshold}, add_to_output=True)
            if score < threshold:
                fallback = {"name": self.config["fallback_intent"], "confidence": float(1.0 - score)}
                message.set(INTENT, dict(fallback), add_to_output=True)
                message.set(INTENT_RANKING_KEY, [dict(fallback)] + ranking, add_to_output=True)
            else:
                message.set(INTENT, ranking[0], add_to_output=True)
                message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


def _languages(messages: List[Message]) -> List[str]:
    """Each message's script language, what the per-language weights are keyed by."""
    return [script_language(m.get(TEXT) or "") for m in messages]


def _blocks(messages: List[Message]) -> Blocks:
    """Sentence features of TEXT grouped by the featurizer that made them (rows = messages).

    A message without a block (e.g. no tokens for a CountVectorsFeaturizer) gets a zero row there.
    """
    found: Dict[str, List[tuple]] = {}
    for i, message in enumerate(messages):
        for f in message.features:
            if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE:
                origin = f.origin if isinstance(f.origin, str) else "+".join(f.origin)
                found.setdefault(origin, []).append((i, f))
    if not found:
        raise InvalidConfigException(
            "CalibratedIntentClassifier found no sentence features: put a featurizer (OnnxSentenceFeaturizer, "
            "CountVectorsFeaturizer) before it in config.yml."
        )
    blocks: Blocks = {}
    for origin, items in found.items():
        index = np.array([i for i, _ in items])
        if items[0][1].is_sparse():
            stacked = sp.vstack([sp.csr_matrix(f.features) for _, f in items], format="csr", dtype=np.float32)
            scatter = sp.csr_matrix((np.ones(len(index), dtype=np.float32), (index, np.arange(len(index)))),
                                    shape=(len(messages), len(index)))
            blocks[origin] = scatter @ stacked
        else:
            m = np.zeros((len(messages), items[0][1].features.shape[-1]), dtype=np.float32)
            m[index] = np.vstack([np.asarray(f.features, dtype=np.float32).reshape(1, -1) for _, f in items])
            blocks[origin] = m
    return blocks
