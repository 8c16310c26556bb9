"""`python -m bench.quantize_onnx --out DIR`: an int8 copy of the ONNX sentence encoder, to measure what it costs.

Dynamic int8 quantisation (onnxruntime.quantization, weights in int8, activations quantised per batch) of
the export `supportbot nlu export-onnx` wrote. The copy is for evaluation only: point the query encoder at it
with `SUPPORTBOT_NLU_ONNX_DIR=DIR supportbot eval retrieval ...` and compare with the float32 export
(docs/benchmarks.md: recall@1 drops by more than the 0.005 the KB path allows, so it is not the default).
Prints one JSON object: `{"source", "out", "bytes_float32", "bytes_int8", "min_cosine"}`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.settings import get_settings


def quantize(source: Path, out: Path) -> dict:
    """Copy the export in `source` to `out` with model.onnx quantised to int8 (`nlu.quantize`)."""
    from nlu.export import ExportError
    from nlu.quantize import quantize_export

    try:
        made = quantize_export(source, out)
    except ExportError as exc:
        raise SystemExit(f"{exc}; run `supportbot nlu export-onnx` first") from exc
    return {"source": str(source), "out": str(out), "bytes_float32": (source / "model.onnx").stat().st_size,
            "bytes_int8": made["bytes"], "min_cosine": made["verification"]["min_cosine"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=None, help="the export (default: the settings' nlu_onnx_path)")
    parser.add_argument("--out", type=Path, required=True, help="where the int8 copy goes")
    args = parser.parse_args(argv)
    print(json.dumps(quantize(args.source or get_settings().nlu_onnx_path, args.out)))


if __name__ == "__main__":
    main()
