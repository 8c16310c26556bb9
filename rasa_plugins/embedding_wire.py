"""The sentence embedding carried from Rasa's NLU to the action server, compactly.

The featurizer computes the message's L2-normalised sentence embedding once; the action server
searches the knowledge base (and the response bank) with that same vector instead of encoding the
text again. It travels in the parse data of the message (`latest_message["supportbot_embedding"]`)
as float16, base64: 384 dimensions → 1,024 characters, versus ~7,700 characters as a JSON list of
floats. Float16 keeps the vector to cosine ≥ 0.99999 of the float32 one (tests/actions/test_embedding.py).

`encoder` is the fingerprint of the sentence-transformer the vector comes from (the same string the
KB index manifest records), so a receiver never mixes vectors from two models: a mismatch means
"encode it yourself". numpy only: both runtimes import this module.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

KEY = "supportbot_embedding"
FORMAT = "f16b64"


def pack(vector: np.ndarray, encoder: str) -> dict[str, Any]:
    """`{"format", "dim", "encoder", "data"}` for one vector (float16, little-endian, base64)."""
    row = np.asarray(vector, dtype="<f2").reshape(-1)
    return {"format": FORMAT, "dim": int(row.size), "encoder": str(encoder),
            "data": base64.b64encode(row.tobytes()).decode("ascii")}


def unpack(packed: Any, encoder: str | None = None) -> np.ndarray | None:
    """The float32, L2-normalised vector, or None when absent, malformed or from another encoder."""
    if not isinstance(packed, dict) or packed.get("format") != FORMAT:
        return None
    if encoder is not None and packed.get("encoder") != encoder:
        return None
    try:
        row = np.frombuffer(base64.b64decode(packed["data"], validate=True), dtype="<f2").astype(np.float32)
    except (KeyError, TypeError, ValueError):
        return None
    if row.size == 0 or row.size != packed.get("dim"):
        return None
    norm = float(np.linalg.norm(row))
    if not np.isfinite(norm) or norm == 0.0:
        return None
    return row / norm
