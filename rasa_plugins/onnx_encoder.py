"""The sentence encoder at run time inside Rasa: onnxruntime + tokenizers, no torch.

The graph (written by `nlu.export`) already holds mean pooling and L2 normalisation, so its
output is exactly what the action server's sentence-transformer returns for the same text
(cosine >= 0.999, checked at export and in tests/nlu/test_onnx_export.py).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from rasa_plugins import paths


class EncoderNotExported(RuntimeError):
    """The ONNX directory is missing or incomplete."""


class OnnxEncoder:
    """Batched sentence embeddings from an exported encoder directory; weights load in `load()`."""

    def __init__(self, model_dir: str | os.PathLike | None = None, batch_size: int = 64, threads: int = 0):
        self.model_dir = paths.resolve(model_dir)
        self.batch_size = batch_size
        self.threads = threads  # 0: onnxruntime's choice (one per core)
        self.manifest: dict = {}
        self._session = None
        self._tokenizer = None

    @staticmethod
    def read_manifest(model_dir: Path) -> dict:
        """The export's manifest, or EncoderNotExported with the command that makes it."""
        manifest_path = model_dir / paths.MANIFEST
        missing = [n for n in (paths.MANIFEST, paths.MODEL_FILE, paths.TOKENIZER_FILE) if not (model_dir / n).is_file()]
        if missing:
            raise EncoderNotExported(
                f"The ONNX sentence encoder is not exported in {model_dir} (missing {', '.join(missing)}). "
                "Run `supportbot nlu export-onnx` (or `supportbot train`), or set "
                f"{paths.ONNX_DIR_ENV} to an exported directory."
            )
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise EncoderNotExported(
                f"{manifest_path} is unreadable ({exc}); run `supportbot nlu export-onnx --force`."
            ) from exc
        if manifest.get("format_version") != paths.FORMAT_VERSION:
            raise EncoderNotExported(
                f"{model_dir} was exported in format {manifest.get('format_version')}, this code reads "
                f"{paths.FORMAT_VERSION}; run `supportbot nlu export-onnx --force`."
            )
        return manifest

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the sentence-transformer this graph was exported from."""
        if not self.manifest:
            self.manifest = self.read_manifest(self.model_dir)
        return self.manifest["encoder_fingerprint"]

    @property
    def dim(self) -> int:
        if not self.manifest:
            self.manifest = self.read_manifest(self.model_dir)
        return int(self.manifest["dim"])

    def load(self) -> "OnnxEncoder":
        if self._session is not None:
            return self
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.manifest = self.read_manifest(self.model_dir)
        options = ort.SessionOptions()
        if self.threads:
            options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        # no busy-waiting between runs: the Rasa server shares the cores with the action server and the
        # bot service; spinning threads cost them CPU and made one message ~1.7x slower under load
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(self.model_dir / paths.MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str(self.model_dir / paths.TOKENIZER_FILE))
        tokenizer.enable_truncation(max_length=int(self.manifest["max_seq_length"]))
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        self._input_names = {i.name for i in self._session.get_inputs()}
        return self

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """float32 rows, L2-normalised, in the order of `texts`.

        Texts are batched by length (less padding: about 2x faster on short customer messages).
        """
        self.load()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch([t if t.strip() else " " for t in texts])
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        bar = _progress(len(texts), "encoding") if progress else None
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            types = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
                types[row, :n] = encodings[i].type_ids
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            out[idx] = self._session.run(["sentence_embedding"], {k: v for k, v in feed.items() if k in self._input_names})[0]
            if bar is not None:
                bar.update(len(idx))
        if bar is not None:
            bar.close()
        return out


def _progress(total: int, desc: str):
    """A tqdm bar on stderr (both runtimes have tqdm: Rasa depends on it)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="msg", file=sys.stderr, mininterval=1.0)
