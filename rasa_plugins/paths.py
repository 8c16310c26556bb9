"""Where the NLU artifacts live, resolvable from either runtime.

`.venv-rasa` has no pydantic-settings, so the Rasa components cannot read `core.settings`; both
sides agree on the environment variable instead: SUPPORTBOT_NLU_ONNX_DIR (documented with the
`nlu_onnx_dir` setting), falling back to models/encoder-onnx under SUPPORTBOT_VAR_DIR (default var/).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ONNX_DIR_ENV = "SUPPORTBOT_NLU_ONNX_DIR"
MANIFEST = "manifest.json"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
FORMAT_VERSION = 1  # bump when the exported graph's inputs/outputs change


def default_onnx_dir() -> Path:
    """The exported encoder: $SUPPORTBOT_NLU_ONNX_DIR, else $SUPPORTBOT_VAR_DIR (else <repo>/var)/models/encoder-onnx.

    The same rule as `core.settings.Settings.nlu_onnx_path`, for the runtime that cannot import it.
    """
    env = os.environ.get(ONNX_DIR_ENV)
    if env:
        return Path(env)
    var_dir = os.environ.get("SUPPORTBOT_VAR_DIR")
    return (Path(var_dir) if var_dir else ROOT / "var") / "models" / "encoder-onnx"


def resolve(path: str | os.PathLike | None) -> Path:
    """A configured path: absolute as given, relative to the repository root otherwise, None = default."""
    if path in (None, ""):
        return default_onnx_dir()
    p = Path(path).expanduser()
    return p if p.is_absolute() else ROOT / p
