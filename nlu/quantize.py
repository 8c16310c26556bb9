"""An int8 copy of an ONNX sentence-encoder export (dynamic quantisation), verified against its source.

`quantize_export(source, out)` writes `out/` as an export in the same format `nlu.export` writes
(model.onnx, tokenizer.json, manifest.json), so `rasa_plugins.onnx_encoder.OnnxEncoder` and
`nlu.export.up_to_date` read it unchanged: the manifest keeps the source's `encoder_fingerprint`
(the int8 graph is of the same encoder) and records the int8 graph's own `onnx_sha256`, plus
`precision: "int8"`, the float32 graph's sha256 (`quantized_from`) and the verification
(minimum cosine of int8 against float32 vectors on `nlu.export.VERIFY_TEXTS`).

Quantisation is onnxruntime's `quantize_dynamic` with per-channel int8 weights (activations quantised
per batch at run time). Per channel matters: on MiniLM, per-tensor weights (the function's default)
moved the vectors to a mean cosine of 0.93 against float32 (0.79 for "thanks"), per-channel ones to
0.984 (0.957 worst), at the same size (23 MB instead of 90) and speed. It is still not exact, so a
copy is refused below `MIN_COSINE` (a sanity floor: a broken graph scores far below it) and is used
only where the caller has measured what it costs (docs/benchmarks.md). Like `nlu.export`, the copy is built beside `out` and swapped in only
when verified, so a failed run never leaves a half-written directory.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from rasa_plugins import paths

MIN_COSINE = 0.9  # a sanity floor (a broken graph scores far below it); the measured figure is recorded


def quantize_export(source: Path, out: Path) -> dict:
    """Quantise the export in `source` into `out`; returns the int8 copy's manifest.

    Raises `nlu.export.ExportError` when `source` is not a readable export or the copy fails verification."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from nlu.export import VERIFY_TEXTS, ExportError, _sha256, _swap_in
    from rasa_plugins.onnx_encoder import EncoderNotExported, OnnxEncoder

    source, out = Path(source), Path(out)
    try:
        base = OnnxEncoder.read_manifest(source)
    except EncoderNotExported as exc:
        raise ExportError(f"cannot quantise {source}: {exc}") from exc
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        shutil.copy2(source / paths.TOKENIZER_FILE, tmp / paths.TOKENIZER_FILE)
        quantize_dynamic(str(source / paths.MODEL_FILE), str(tmp / paths.MODEL_FILE), weight_type=QuantType.QInt8,
                         per_channel=True)
        manifest = {**{k: v for k, v in base.items() if k not in ("verification", "export_seconds")},
                    "built_by": "nlu.quantize", "precision": "int8", "quantization": "dynamic, per-channel int8 weights", "quantized_from": base.get("onnx_sha256"),
                    "onnx_sha256": _sha256(tmp / paths.MODEL_FILE)}
        (tmp / paths.MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        reference = OnnxEncoder(source, threads=1).load().encode(VERIFY_TEXTS)
        quantized = OnnxEncoder(tmp, threads=1).load().encode(VERIFY_TEXTS)
        min_cosine = round(float((reference * quantized).sum(axis=1).min()), 6)  # both rows are L2-normalised
        if min_cosine < MIN_COSINE:
            raise ExportError(f"the int8 copy of {source} disagrees with it (min cosine {min_cosine} < {MIN_COSINE}); "
                              "serve the float32 export")
        manifest["verification"] = {"texts": len(VERIFY_TEXTS), "min_cosine": min_cosine, "against": "float32"}
        manifest["bytes"] = (tmp / paths.MODEL_FILE).stat().st_size
        (tmp / paths.MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _swap_in(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest

