"""A shallower copy of the base encoder: its first N transformer layers, for a cheaper dialogue model.

The response selector encodes every typed message's context in the action server. For a short text
that encode costs about what reading the encoder's weights costs (a 6-layer MiniLM reads ~42 MB of
float32 matrices per call, however few word pieces the text has), so it scales with the number of
layers, not with the text. The first dialogue model (finetune/first_model.py) therefore starts from a
copy of the base encoder that keeps its embeddings and its first `first_model_layers` layers, and
trains twice the steps in the same time (docs/benchmarks.md "The first model's depth").

`shallow_encoder(source, layers, out_root)` writes the copy once into
`<out_root>/base-encoder-L<layers>-<source fingerprint>/` with a manifest (`layers.json`: the source, its
fingerprint, the layers kept), and returns that directory; a later call finds it and writes nothing.
`layers` of 0, or at least the source's depth, returns the source itself: nothing is copied. So does an
encoder whose transformer has no `encoder.layer` list to cut (DistilBERT, say), with a warning: the first
model then trains on the whole encoder rather than not at all.

Invariant: the copy holds the source's own weights (embeddings, the first N layers, pooling and
normalisation modules); nothing is re-initialised, so before any training it is a sentence encoder
of the same family, and the gate still compares the trained model with the full base encoder.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)
MANIFEST = "layers.json"


def shallow_encoder(source: str | Path, layers: int, out_root: Path) -> str:
    """The path of `source` cut to its first `layers` transformer layers (written once), or `source` itself
    when `layers` is 0 or not fewer than it has."""
    from retrieval.encoder import Encoder

    if layers < 0:
        raise ValueError(f"first_model_layers must be 0 (all) or a positive number of layers, not {layers}")
    if layers == 0:
        return str(source)
    fingerprint = Encoder(str(source)).fingerprint
    target = Path(out_root) / f"base-encoder-L{layers}-{fingerprint.split(':')[-1][:12]}"
    if _intact(target, fingerprint, layers):
        return str(target)
    model = _load(source)
    try:
        total = len(_layer_list(model))
    except ValueError as exc:
        log.warning("the first model trains on the whole encoder: %s", exc)
        return str(source)
    if layers >= total:
        return str(source)
    _keep_first(model, layers)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model.save(str(tmp))
        (tmp / MANIFEST).write_text(json.dumps({
            "built_by": "finetune.layers", "source": str(source), "source_fingerprint": fingerprint,
            "source_layers": total, "layers": layers,
        }, indent=2) + "\n", encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return str(target)


def kept_layers(path: str | Path) -> int | None:
    """How many layers a copy written by `shallow_encoder` kept; None for any other directory."""
    layers = _manifest(path).get("layers")
    return layers if isinstance(layers, int) else None


def _manifest(path: str | Path) -> dict:
    try:
        manifest = json.loads((Path(path) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _intact(target: Path, fingerprint: str, layers: int) -> bool:
    manifest = _manifest(target)
    return manifest.get("source_fingerprint") == fingerprint and manifest.get("layers") == layers


def _load(source):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(source), device="cpu")


def _layer_list(model):
    transformer = model[0].auto_model
    encoder = getattr(transformer, "encoder", None)
    layer = getattr(encoder, "layer", None)
    if layer is None:
        raise ValueError(f"{type(transformer).__name__} has no encoder.layer list to keep the first layers of; "
                         "set first_model_layers=0 (SUPPORTBOT_FIRST_MODEL_LAYERS) to silence this")
    return layer


def _keep_first(model, layers: int) -> None:
    import torch

    transformer = model[0].auto_model
    transformer.encoder.layer = torch.nn.ModuleList(list(_layer_list(model))[:layers])
    transformer.config.num_hidden_layers = layers
