"""Our Rasa 3.6 graph components (imported by Rasa from config.yml; needs the `.venv-rasa` runtime).

config.yml names them `nlu.components.OnnxSentenceFeaturizer` and
`nlu.components.CalibratedIntentClassifier`.
"""

from nlu.components.intent_classifier import CalibratedIntentClassifier
from nlu.components.onnx_featurizer import OnnxSentenceFeaturizer

__all__ = ["CalibratedIntentClassifier", "OnnxSentenceFeaturizer"]
