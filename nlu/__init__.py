"""supportbot's NLU tooling on the Python 3.11 side: exporting the sentence encoder to ONNX (`nlu.export`),
the `supportbot nlu` and `supportbot eval intents` commands (`nlu.cli`), which drive Rasa through the
`.venv-rasa` interpreter. What Rasa itself loads (the featurizer, the intent classifier) is in `rasa_plugins/`.
Nothing heavy is imported here.
"""
