"""Everything Rasa 3.6 loads (Python 3.10 runtime, `.venv-rasa`), named in config.yml, credentials.yml and the
rendered endpoints.yml:

  * `rasa_plugins.channel.TurnInput` (input channel) and `rasa_plugins.channel.TurnEventsSQLTrackerStore`
    (tracker store that hands each turn's events to that channel);
  * `rasa_plugins.lock_store.FileLockStore` (conversation locks shared by several Rasa processes);
  * `rasa_plugins.featurizer.OnnxSentenceFeaturizer` and
    `rasa_plugins.intent_classifier.CalibratedIntentClassifier` (NLU graph components).

Their helpers (`onnx_encoder`, `intent_model`, `calibration`, `paths`) need only numpy, scipy, scikit-learn,
onnxruntime and tokenizers, so the Python 3.11 side (ONNX export, `supportbot eval intents`) imports them too.
Nothing here imports torch, the bot service or `core` (pydantic-settings is not in Rasa's runtime); this file
imports nothing.
"""
