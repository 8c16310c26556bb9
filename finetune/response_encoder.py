"""The response model's encoder at serving time: its ONNX export when it is there and intact, else torch.

At build (`export_for_model`, called by finetune/training.py and `build_base_model`) the model's
sentence-transformer is exported with `nlu.export.export_onnx` (graph + tokenizer, verified against
torch at cosine ≥ 0.999) into `<model dir>/encoder-onnx/`, and the model manifest records it under
`encoder_onnx`. A base model whose encoder is the platform's reuses the platform's export
(`settings.nlu_onnx_path`) when that export is of the same files, instead of writing a second copy.
Beside it, an int8 copy of that export (`nlu.quantize`, dynamic quantisation, checked against the
float32 graph) goes into `<model dir>/encoder-onnx-int8/`, recorded as the manifest's
`encoder_onnx_int8` with the int8 graph's sha256; it is always written in the model directory.

At load (`load_encoder`) the export is used only when the model manifest names one, the export's
manifest names the fingerprint of the encoder files the model directory points at, and the graph's
sha256 is the one recorded at export. Anything else (a model directory built before exports, a
damaged or replaced graph, an export of another encoder, no onnxruntime, a GPU device) loads the
sentence-transformer instead and logs why, at warning level when an export was expected but is not
usable: the model then answers with the vectors it was built with, never with another model's.
`precision="int8"` (`response_encoder_precision`) loads the int8 copy instead, under the same checks
plus the graph's sha256 against the one the model manifest recorded; when it is not usable the
float32 export (or torch) answers and a warning says why. `load_screen` loads the same copy beside the
float32 export, as its screen (actions/screen.py): it never answers for float32, it only says when float32's
encode cannot change the decision.

Invariant: with float32, whichever runtime encodes, the vectors are the ones the bank was encoded
with (the same weights; the ONNX graph is checked against torch), so bank scores and the calibrated
`learnt_min_score` keep their meaning. The int8 copy's vectors only approximate them (the bank and
the threshold stay float32's); what that costs is measured in docs/benchmarks.md, not assumed.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

EXPORT_DIR = "encoder-onnx"
INT8_DIR = "encoder-onnx-int8"
PRECISIONS = ("float32", "int8")
ENTRY = {"float32": "encoder_onnx", "int8": "encoder_onnx_int8"}  # the model manifest's key per precision
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
        entry = export_for_model(model_dir, encoder_path, reuse)
    except ExportError as exc:
        log.warning("the response model's encoder was not exported to ONNX (%s); it will serve with torch", exc)
        return {"encoder_onnx": None, "encoder_onnx_error": str(exc)}
    return {"encoder_onnx": entry, **int8_fields(model_dir, {"encoder_onnx": entry})}


def int8_fields(model_dir: Path, manifest: dict) -> dict:
    """Quantise the model's float32 export into `<model dir>/encoder-onnx-int8/`; returns the manifest
    fields `{"encoder_onnx_int8": {...}}`, or `{"encoder_onnx_int8": None, "encoder_onnx_int8_error": ...}`
    when it cannot be made (the model then serves float32 whatever the setting)."""
    from nlu.export import ExportError
    from nlu.quantize import quantize_export

    model_dir = Path(model_dir)
    source = export_path(model_dir, manifest)
    if source is None:
        return {"encoder_onnx_int8": None, "encoder_onnx_int8_error": "the model has no float32 ONNX export"}
    try:
        made = quantize_export(source, model_dir / INT8_DIR)
    except (ExportError, ImportError, OSError) as exc:
        log.warning("no int8 copy of the response model's encoder was made (%s); it serves float32", exc)
        return {"encoder_onnx_int8": None, "encoder_onnx_int8_error": str(exc)}
    return {"encoder_onnx_int8": {"dir": INT8_DIR, "encoder_fingerprint": made["encoder_fingerprint"],
                                  "onnx_sha256": made["onnx_sha256"], "quantized_from": made["quantized_from"],
                                  "min_cosine": made["verification"]["min_cosine"], "bytes": made["bytes"]}}


def _entry(directory: str, manifest: dict, reused: bool) -> dict:
    return {"dir": directory, "encoder_fingerprint": manifest["encoder_fingerprint"],
            "onnx_sha256": manifest["onnx_sha256"], "dim": manifest["dim"],
            "max_seq_length": manifest["max_seq_length"],
            "min_cosine": (manifest.get("verification") or {}).get("min_cosine"), "reused": reused}


def export_path(model_dir: Path, manifest: dict, precision: str = "float32") -> Path | None:
    """Where the model's export of `precision` lives (absolute, or relative to the model directory),
    None if it has none."""
    entry = manifest.get(ENTRY[precision])
    if not isinstance(entry, dict) or not entry.get("dir"):
        return None
    path = Path(entry["dir"])
    return path if path.is_absolute() else Path(model_dir) / path


def unusable_reason(model_dir: Path, manifest: dict, encoder, precision: str = "float32") -> str | None:
    """Why the export of `precision` cannot stand in for `encoder` (the torch `Encoder` of the model),
    None if it can."""
    from nlu.export import up_to_date

    path = export_path(model_dir, manifest, precision)
    what = "ONNX export" if precision == "float32" else "int8 ONNX copy"
    if path is None:
        return (f"the model directory has no {what} (built before "
                f"{'exports' if precision == 'float32' else 'int8 copies'} were made)")
    if not path.is_dir():
        return f"the {what} {path} is missing"
    current = up_to_date(path, encoder.fingerprint)
    recorded = manifest[ENTRY[precision]].get("onnx_sha256")
    if current is None or (precision == "int8" and current.get("onnx_sha256") != recorded):
        return (f"the {what} in {path} is damaged or not of this model's encoder {encoder.fingerprint} "
                "(graph checksum or encoder fingerprint differ)")
    return None


def load_encoder(model_dir: Path, manifest: dict, encoder_path: Path, device: str = "cpu", threads: int = 1,
                 runtime: str = "auto", precision: str = "float32"):
    """(encoder, runtime, reason): the loaded ONNX encoder (runtime "onnx", or "onnx-int8" for the int8
    copy), or the sentence-transformer with the reason it is not ONNX."""
    from retrieval.encoder import Encoder

    if runtime not in RUNTIMES:
        raise ValueError(f"encoder runtime {runtime!r} is not one of {RUNTIMES}")
    if precision not in PRECISIONS:
        raise ValueError(f"response encoder precision {precision!r} is not one of {PRECISIONS} "
                         "(SUPPORTBOT_RESPONSE_ENCODER_PRECISION)")
    torch_encoder = Encoder(str(encoder_path), device=device)
    expected = export_path(model_dir, manifest) is not None and runtime == "auto" and device == "cpu"
    if runtime == "torch":
        reason = "the sentence-transformer was asked for"
    elif device != "cpu":
        reason = f"the encoder runs on device {device!r} (the ONNX export is for CPU)"
    else:
        reason = unusable_reason(model_dir, manifest, torch_encoder)
    int8 = _load_int8(model_dir, manifest, torch_encoder, threads) if reason is None and precision == "int8" else None
    if int8 is not None:
        return int8, "onnx-int8", None
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


def _int8(model_dir: Path, manifest: dict, encoder, threads: int):
    """(the int8 copy loaded, None) or (None, why it cannot be); `encoder` is the float32 one it stands beside."""
    from retrieval.query_encoder import OnnxQueryEncoder

    reason = unusable_reason(model_dir, manifest, encoder, "int8")
    if reason is None:
        try:
            return OnnxQueryEncoder(export_path(model_dir, manifest, "int8"), encoder.name, threads=threads).load(), None
        except Exception as exc:  # noqa: BLE001 - an unreadable graph: the float32 export still answers
            reason = f"the int8 ONNX copy could not be loaded ({exc.__class__.__name__}: {exc})"
    return None, reason


def _load_int8(model_dir: Path, manifest: dict, torch_encoder, threads: int):
    """The int8 copy loaded, or None with a warning saying why the float32 export answers instead."""
    int8, reason = _int8(model_dir, manifest, torch_encoder, threads)
    if int8 is None:
        log.warning("response model %s encodes with its float32 ONNX export although int8 was asked for: %s; "
                    "run `supportbot models quantize %s` to rebuild the int8 copy", model_dir, reason, model_dir)
    return int8


def load_screen(model_dir: Path, manifest: dict, encoder, threads: int = 1):
    """The int8 copy as the screen of the float32 ONNX `encoder` (actions/screen.py), or None with a warning
    saying why every selection is encoded in float32 instead."""
    screen, reason = _int8(model_dir, manifest, encoder, threads)
    if screen is None:
        log.warning("response model %s has no int8 screen (%s): every selection encodes in float32; run "
                    "`supportbot models quantize %s` to restore it", model_dir, reason, model_dir)
    return screen
