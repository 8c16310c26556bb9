"""supportbot's NLU: the sentence encoder exported to ONNX and the calibrated intent classifier.

Two runtimes use this package:
  * `.venv-rasa` (Python 3.10, no torch) imports `nlu.components` (Rasa graph components),
    `nlu.onnx_encoder` and `nlu.intent_model`;
  * `.venv` (Python 3.11, torch) runs `nlu.export` and the `supportbot nlu` / `supportbot eval intents`
    commands (`nlu.cli`), which drive Rasa through the other runtime's interpreter.
Nothing heavy is imported here.
"""
