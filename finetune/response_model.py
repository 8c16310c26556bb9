"""A response-selection model directory, and the loaded model that picks replies from its bank.

Layout of a model directory (what `ResponseModel.load()` reads back):

    manifest.json      what built it, from which data (fingerprint), with which settings, its metrics
    encoder/           the fine-tuned sentence-transformer (absent for a base model: the manifest's
                       "encoder" then names the base encoder's own directory)
    encoder-onnx/      the encoder exported to ONNX (model.onnx, tokenizer.json, manifest.json with the
                       encoder's fingerprint and the graph's sha256), recorded as the manifest's
                       "encoder_onnx"; a base model may name the platform's export instead. Serving
                       encodes with it (finetune/response_encoder.py), else with the sentence-transformer.
    encoder-onnx-int8/ an int8 copy of that export (same files, `precision: "int8"`), recorded as
                       "encoder_onnx_int8"; served only with `response_encoder_precision = "int8"`.
    bank/              FAISS index (retrieval.vector_index) of the de-duplicated agent replies
    responses.jsonl    the replies themselves, by id, with how often agents used each
    loss.png, eval.png, training_log.json
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

from finetune.errors import ModelDirInvalid

MANIFEST = "manifest.json"


def new_version(fingerprint: str) -> str:
    """Sortable and unique enough: UTC time to the second plus the data fingerprint."""
    return f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}-{fingerprint[:8]}"


def read_manifest(model_dir: Path) -> dict:
    try:
        return json.loads((Path(model_dir) / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise ModelDirInvalid(f"{model_dir} has no readable {MANIFEST} ({exc}); retrain the model "
                              "(`supportbot retrain`) or roll back (`supportbot models rollback`)") from exc


def write_manifest(model_dir: Path, manifest: dict) -> None:
    tmp = Path(model_dir) / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    tmp.replace(Path(model_dir) / MANIFEST)


def update_metrics(model_dir: Path, metrics: dict) -> dict:
    manifest = read_manifest(model_dir)
    manifest["metrics"] = {**manifest.get("metrics", {}), **metrics}
    write_manifest(model_dir, manifest)
    return manifest


def write_bank(model_dir: Path, encoder, bank: list[dict], faiss_device: str = "cpu",
               progress: bool = False) -> dict:
    """Encode the replies with the model's own encoder and save them with their FAISS index."""
    from retrieval.vector_index import VectorIndex, choose_factory

    model_dir = Path(model_dir)
    vectors = encoder.encode([b["text"] for b in bank], progress=progress)
    index = VectorIndex(vectors.shape[1], choose_factory(len(bank), vectors.shape[1]), device=faiss_device)
    index.add(np.array([b["id"] for b in bank], dtype=np.int64), vectors)
    index.save(model_dir / "bank")
    with (model_dir / "responses.jsonl").open("w") as fh:
        for b in bank:
            fh.write(json.dumps(b, ensure_ascii=False) + "\n")
    return {"dir": "bank", "responses": len(bank), "factory": index.factory}


def build_base_model(model_dir: Path, encoder_path: str, bank: list[dict], manifest: dict,
                     faiss_device: str = "cpu", onnx: bool = True, reuse_onnx: Path | None = None) -> Path:
    """A model directory that serves the *un-tuned* encoder over a response bank: the baseline the
    first fine-tuned model has to beat, and a working model before any fine-tuning.

    `onnx`: also export the encoder to ONNX for serving (`reuse_onnx`: the platform's export,
    referred to instead of copied when it is of the same encoder files)."""
    from finetune.response_encoder import export_fields
    from retrieval.encoder import Encoder

    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    encoder = Encoder(encoder_path).load()
    bank_info = write_bank(model_dir, encoder, bank, faiss_device)
    extra = export_fields(model_dir, encoder_path, reuse_onnx) if onnx else {}
    write_manifest(model_dir, {**manifest, "encoder": str(Path(encoder_path).resolve()),
                               "encoder_fingerprint": encoder.fingerprint, "bank": bank_info, **extra})
    return model_dir


class ResponseModel:
    """A loaded model directory: encodes contexts and finds the nearest replies in its bank.

    `threads`: intra-op threads of the ONNX encoder (1 for serving, one query at a time; 0 for
    onnxruntime's choice, for batch evaluation). `encoder_runtime`: "auto" (the ONNX export when it
    is usable) or "torch". `encoder_precision`: "float32" or "int8" (the int8 copy of the export, when
    it is usable). After `load()`, `runtime` says which encoder loaded ("onnx", "onnx-int8" or "torch")
    and `runtime_reason` why it is not ONNX. `screen`: also load the int8 copy beside a float32 ONNX encoder,
    for `select(..., screened=True)` (actions/screen.py); `screen_encoder` is None when it is not there."""

    def __init__(self, model_dir: Path | str, device: str = "cpu", faiss_device: str = "cpu", threads: int = 1,
                 encoder_runtime: str = "auto", encoder_precision: str = "float32", screen: bool = False):
        self.model_dir = Path(model_dir)
        self.device = device
        self.faiss_device = faiss_device
        self.threads = threads
        self.encoder_runtime = encoder_runtime
        self.encoder_precision = encoder_precision
        self.screen = screen
        self.screen_encoder = None
        self.manifest: dict = {}
        self.encoder = None
        self.runtime: str | None = None
        self.runtime_reason: str | None = None
        self.index = None
        self.responses: dict[int, str] = {}

    @property
    def version(self) -> str:
        return self.manifest.get("version", self.model_dir.name)

    def load(self) -> ResponseModel:
        from finetune.response_encoder import load_encoder, load_screen
        from retrieval.errors import RetrievalError
        from retrieval.vector_index import VectorIndex

        self.manifest = read_manifest(self.model_dir)
        encoder_path = Path(self.manifest.get("encoder", "encoder"))
        if not encoder_path.is_absolute():
            encoder_path = self.model_dir / encoder_path
        try:
            self.index = VectorIndex.load(self.model_dir / "bank", device=self.faiss_device)
            with (self.model_dir / "responses.jsonl").open() as fh:
                self.responses = {r["id"]: r["text"] for r in map(json.loads, fh)}
            self.encoder, self.runtime, self.runtime_reason = load_encoder(
                self.model_dir, self.manifest, encoder_path, self.device, self.threads, self.encoder_runtime,
                self.encoder_precision)
            if self.screen and self.runtime == "onnx":
                self.screen_encoder = load_screen(self.model_dir, self.manifest, self.encoder, self.threads)
        except (OSError, ValueError, KeyError, RuntimeError, RetrievalError) as exc:
            raise ModelDirInvalid(f"cannot load the response model in {self.model_dir} ({exc}); "
                                  "retrain it or roll back to the previous one") from exc
        if self.index.dim != self.encoder.dim:
            raise ModelDirInvalid(f"{self.model_dir}: bank vectors have {self.index.dim} dimensions but the "
                                  f"encoder makes {self.encoder.dim}; rebuild the model")
        return self

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self.encoder.encode(texts, progress=progress)

    def select(self, contexts: list[str], k: int = 5, screened: bool = False) -> list[list[dict]]:
        """For each context string, the k best replies `{"text", "score"}`, best first. `screened`: encoded
        with the int8 screen (`screen_encoder`, which must be loaded) instead of the model's encoder."""
        if screened and self.screen_encoder is None:
            raise ValueError(f"response model {self.version} has no int8 screen loaded (load it with screen=True)")
        vectors = self.screen_encoder.encode(contexts) if screened else self.encode(contexts)
        scores, ids = self.index.search(vectors, k)
        return [[{"text": self.responses[int(i)], "score": round(float(s), 4)}
                 for s, i in zip(row_s, row_i) if i >= 0] for row_s, row_i in zip(scores, ids)]
