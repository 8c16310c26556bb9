"""The response model's encoder at serving time: its ONNX export when it is there and intact, else torch.

At build (`export_for_model`, called by finetune/training.py and `build_base_model`) the model's
sentence-transformer is exported with `nlu.export.export_onnx` (graph + tokenizer, verified against
torch at cosine ≥ 0.999) into `<model dir>/encoder-onnx/`, and the model manifest records it under
`encoder_onnx`. A base model whose encoder is the platform's reuses the platform's export
(`settings.nlu_onnx_path`) when that export is of the same files, instead of writing a second copy.

At load (`load_encoder`) the export is used only when the model manifest names one, the export's
manifest names the fingerprint of the encoder files the model directory points at, and the graph's
sha256 is the one recorded at export. Anything else (a model directory built before exports, a
damaged or replaced graph, an export of another encoder, no onnxruntime, a GPU device) loads the
sentence-transformer instead and logs why, at warning level when an export was expected but is not
usable: the model then answers with the vectors it was built with, never with another model's.

Invariant: whichever runtime encodes, the vectors are the ones the bank was encoded with (the same
weights; the ONNX graph is checked against torch), so bank scores and the calibrated
`learnt_min_score` keep their meaning.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

EXPORT_DIR = "encoder-onnx"
RUNTIMES = ("auto", "torch")  # auto: the ONNX export when usable; torch: always the sentence-transformer


def export_for_model(model_dir: Path, encoder_path: str | Path, reuse: Path | None = None) -> dict:
    """Export the encoder at `encoder_path` for the model in `model_dir`; returns the manifest entry.

    `reuse`: an existing export (the platform's) used by reference when it is a verified export of
    the same encoder files. Raises `nlu.export.ExportError` when the encoder cannot be exported.
    """
    from nlu.export import encoder_fingerprint, export_onnx, up_to_date

    model_dir = Path(model_dir)
    fingerprint = encoder_fingerprint(str(encoder_path))
    if reuse is not None and (existing := up_to_date(Path(reuse), fingerprint)):
        return _entry(str(Path(reuse).resolve()), existing, reused=True)
    manifest = export_onnx(str(encoder_path), model_dir / EXPORT_DIR)
    return _entry(EXPORT_DIR, manifest, reused=False)


def export_fields(model_dir: Path, encoder_path: str | Path, reuse: Path | None = None) -> dict:
    """The manifest fields of a model's export: `{"encoder_onnx": {...}}`, or, when the encoder cannot be
    exported (not a mean-pooling BERT-style model), `{"encoder_onnx": None, "encoder_onnx_error": ...}`:
    the model is still built and serves with torch."""
    from nlu.export import ExportError

    try:
        return {"encoder_onnx": export_for_model(model_dir, encoder_path, reuse)}
    except ExportError as exc:
        log.warning("the response model's encoder was not exported to ONNX (%s); it will serve with torch", exc)
        return {"encoder_onnx": None, "encoder_onnx_error": str(exc)}


def _entry(directory: str, manifest: dict, reused: bool) -> dict:
    return {"dir": directory, "encoder_fingerprint": manifest["encoder_fingerprint"],
            "onnx_sha256": manifest["onnx_sha256"], "dim": manifest["dim"],
            "max_seq_length": manifest["max_seq_length"],
            "min_cosine": (manifest.get("verification") or {}).get("min_cosine"), "reused": reused}


def export_path(model_dir: Path, manifest: dict) -> Path | None:
    """Where the model's export lives (absolute, or relative to the model directory), None if it has none."""
    entry = manifest.get("encoder_onnx")
    if not isinstance(entry, dict) or not entry.get("dir"):
        return None
    path = Path(entry["dir"])
    return path if path.is_absolute() else Path(model_dir) / path


def unusable_reason(model_dir: Path, manifest: dict, encoder) -> str | None:
    """Why the export cannot stand in for `encoder` (the torch `Encoder` of the model), None if it can."""
    from nlu.export import up_to_date

    path = export_path(model_dir, manifest)
    if path is None:
        return "the model directory has no ONNX export (built before exports were made)"
    if not path.is_dir():
        return f"the ONNX export {path} is missing"
    if up_to_date(path, encoder.fingerprint) is None:
        return (f"the ONNX export in {path} is damaged or not of this model's encoder {encoder.fingerprint} "
                "(graph checksum or encoder fingerprint differ)")
    return None


def load_encoder(model_dir: Path, manifest: dict, encoder_path: Path, device: str = "cpu", threads: int = 1,
                 runtime: str = "auto"):
    """(encoder, runtime, reason): the loaded ONNX encoder, or the sentence-transformer with the reason."""
    from retrieval.encoder import Encoder

    if runtime not in RUNTIMES:
        raise ValueError(f"encoder runtime {runtime!r} is not one of {RUNTIMES}")
    torch_encoder = Encoder(str(encoder_path), device=device)
    expected = export_path(model_dir, manifest) is not None and runtime == "auto" and device == "cpu"
    if runtime == "torch":
        reason = "the sentence-transformer was asked for"
    elif device != "cpu":
        reason = f"the encoder runs on device {device!r} (the ONNX export is for CPU)"
    else:
        reason = unusable_reason(model_dir, manifest, torch_encoder)
    if reason is None:
        try:
            from retrieval.query_encoder import OnnxQueryEncoder

            onnx = OnnxQueryEncoder(export_path(model_dir, manifest), torch_encoder.name, threads=threads).load()
            return onnx, "onnx", None
        except Exception as exc:  # noqa: BLE001 - no onnxruntime, an unreadable graph: torch still answers
            reason = f"the ONNX export could not be loaded ({exc.__class__.__name__}: {exc})"
    level = logging.WARNING if expected else logging.INFO
    log.log(level, "response model %s encodes with the sentence-transformer: %s%s", model_dir, reason,
            "; rebuild the model (`supportbot retrain`) to restore the ONNX encoder" if expected else "")
    return torch_encoder.load(), "torch", reason
