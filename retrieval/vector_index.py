"""A FAISS index with int64 ids over L2-normalised vectors (inner product = cosine).

Why ids: passages are replaced and removed when documents change, so every vector carries the
passage's id. Flat and HNSW sit inside `IndexIDMap2`; IVF indexes keep ids natively (their own
`remove_ids` does not renumber, which `IndexIDMap2` would assume). HNSW cannot delete, so removed
ids become tombstones excluded at search time through an `IDSelector` and dropped on `compact()`.

The CPU index is always the source of truth; on a machine with faiss-gpu and CUDA a GPU copy made
by `index_cpu_to_gpu` serves plain searches (it is re-made after every change).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np

from retrieval.errors import IndexCorrupt, RetrievalError

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
FLAT_MAX = 50_000  # below this, exact search is fast enough (a few ms) and needs no training
DEFAULT_MEMORY_BUDGET_MB = 4096  # raw float32 vectors above this move to IVF+SQ8, then IVF+PQ
IVF_MIN = 10_000  # IVF/PQ quantisers need this many training vectors to be worth having


def _faiss():
    import faiss

    return faiss


def set_search_threads(n: int) -> None:
    """OpenMP threads FAISS uses (process-wide). A server that searches one query at a time wants 1:
    on a small index the thread team's wake-ups cost far more than the search (47 ms wall vs 1 ms
    for 152 vectors on a loaded 2-core machine, docs/benchmarks.md "KB answer path")."""
    _faiss().omp_set_num_threads(max(1, int(n)))


def gpu_available() -> bool:
    faiss = _faiss()
    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


def ivf_nlist(n: int) -> int:
    """About 4·sqrt(n) lists, a power of two, so each list holds a few hundred vectors."""
    return max(16, 2 ** round(math.log2(4 * math.sqrt(max(n, 1)))))


def choose_factory(n: int, dim: int, memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB,
                   flat_max: int = FLAT_MAX) -> str:
    """The FAISS factory string for a corpus of `n` vectors of `dim` floats.

    Exact Flat for small corpora; HNSW (no training, best latency at high recall, see
    docs/benchmarks.md) while the raw float32 vectors fit the memory budget; then IVF with 8-bit
    scalar quantisation (4x smaller, recall barely changes); then IVF with product quantisation
    (dim/8 bytes a vector, 32x smaller, recall visibly lower). `np`: no polysemous training,
    which would multiply build time for a search mode we do not use.
    """
    budget = memory_budget_mb * 2**20
    if n <= flat_max:
        return "Flat"
    if n * dim * 4 <= budget or n < IVF_MIN:
        return "HNSW32,Flat"
    if n * dim <= budget:
        return f"IVF{ivf_nlist(n)},SQ8"
    return f"IVF{ivf_nlist(n)},PQ{pq_m(dim)}np"


def pq_m(dim: int) -> int:
    """Sub-quantisers for PQ: about dim/8 (8-dimensional sub-vectors), dividing dim."""
    m = max(1, dim // 8)
    while dim % m:
        m -= 1
    return m


class VectorIndex:
    """FAISS with int64 ids; `search` returns (scores, ids) padded with -1 when fewer than k."""

    def __init__(self, dim: int, factory: str = "Flat", device: str = "cpu",
                 ef_search: int = 128, nprobe: int = 32):
        self.dim = int(dim)
        self.factory = factory
        self.device = device
        self.ef_search = ef_search
        self.nprobe = nprobe
        self._index = self._build(factory)
        self._tombstones = np.zeros(0, dtype=np.int64)
        self._ids = np.zeros(0, dtype=np.int64)  # live ids, kept sorted
        self._gpu = None
        self._gpu_stale = True

    choose_factory = staticmethod(choose_factory)

    # -- construction -------------------------------------------------------------------------
    @property
    def native_ids(self) -> bool:
        return "IVF" in self.factory.upper()

    def _build(self, factory: str):
        faiss = _faiss()
        spec = factory if (self.native_ids or factory.startswith("IDMap")) else f"IDMap2,{factory}"
        try:
            return faiss.index_factory(self.dim, spec, faiss.METRIC_INNER_PRODUCT)
        except RuntimeError as exc:
            raise RetrievalError(
                f"FAISS cannot build the index {factory!r} ({str(exc).splitlines()[0][:200]}). "
                "Use a factory string such as 'Flat', 'HNSW32,Flat' or 'IVF1024,PQ48'."
            ) from exc

    def _inner(self):
        faiss = _faiss()
        index = faiss.downcast_index(self._index)
        if isinstance(index, (faiss.IndexIDMap, faiss.IndexIDMap2)):
            index = faiss.downcast_index(index.index)
        return index

    @property
    def supports_remove(self) -> bool:
        faiss = _faiss()
        return not isinstance(self._inner(), faiss.IndexHNSW)

    @property
    def ntotal(self) -> int:
        """Live vectors (tombstoned ones excluded)."""
        return int(self._ids.size)

    @property
    def tombstones(self) -> int:
        """Removed vectors still inside an HNSW graph (excluded from results until `compact()`)."""
        return int(self._tombstones.size)

    @property
    def is_trained(self) -> bool:
        return bool(self._index.is_trained)

    def ids(self) -> np.ndarray:
        return self._ids.copy()

    def __contains__(self, item: int) -> bool:
        i = np.searchsorted(self._ids, item)
        return bool(i < self._ids.size and self._ids[i] == item)

    # -- mutation -------------------------------------------------------------------------------
    def _check(self, ids, vectors) -> tuple[np.ndarray, np.ndarray]:
        ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"vectors must have shape (n, {self.dim}), got {vectors.shape}")
        if vectors.shape[0] != ids.size:
            raise ValueError(f"{ids.size} ids for {vectors.shape[0]} vectors")
        return ids, vectors

    def train(self, vectors: np.ndarray) -> None:
        """Train IVF/PQ quantisers (a no-op for Flat and HNSW); uses the GPU when there is one."""
        if self.is_trained:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        inner = self._inner()
        nlist = getattr(inner, "nlist", 0)
        cap = max(64 * nlist, 65_536)  # k-means gains nothing from more; keeps 1M builds in minutes
        if vectors.shape[0] > cap:
            pick = np.random.default_rng(0).choice(vectors.shape[0], cap, replace=False)
            vectors = vectors[np.sort(pick)]
        if nlist and vectors.shape[0] < nlist:
            raise RetrievalError(
                f"{self.factory!r} needs at least {nlist} training vectors, got {vectors.shape[0]}: "
                "use a smaller nlist or let choose_factory pick the type for this corpus size."
            )
        if self._use_gpu() and nlist:
            faiss = _faiss()
            try:  # k-means on the GPU, then back to the CPU source of truth
                gpu = faiss.index_cpu_to_gpu(self._gpu_resources(), 0, self._index)
                gpu.train(vectors)
                self._index = faiss.index_gpu_to_cpu(gpu)
                return
            except RuntimeError as exc:
                log.warning("GPU training of %s failed (%s); training on CPU", self.factory, exc)
        self._index.train(vectors)

    def add(self, ids, vectors) -> None:
        """Add new vectors; an id already present is an error (use `upsert` to replace)."""
        ids, vectors = self._check(ids, vectors)
        if ids.size == 0:
            return
        if np.unique(ids).size != ids.size or np.isin(ids, self._ids).any():
            raise ValueError("duplicate ids in add(); call upsert() to replace existing vectors")
        if not self.is_trained:
            self.train(vectors)
        if self._tombstones.size:  # re-adding a tombstoned id (HNSW): drop the old vector first
            self.compact(only=ids)
        self._index.add_with_ids(vectors, ids)
        self._ids = np.union1d(self._ids, ids)
        self._gpu_stale = True

    def upsert(self, ids, vectors) -> None:
        """Replace (or add) vectors by id. On HNSW this rebuilds the graph: prefer fresh ids there."""
        ids, vectors = self._check(ids, vectors)
        self.remove(ids[np.isin(ids, self._ids)])
        self.add(ids, vectors)

    def remove(self, ids) -> int:
        """Remove ids (unknown ids are ignored); returns how many were removed."""
        ids = np.intersect1d(np.asarray(ids, dtype=np.int64).reshape(-1), self._ids)
        if ids.size == 0:
            return 0
        if self.supports_remove:
            faiss = _faiss()
            self._index.remove_ids(faiss.IDSelectorBatch(ids))
        else:
            self._tombstones = np.union1d(self._tombstones, ids)
        self._ids = np.setdiff1d(self._ids, ids, assume_unique=True)
        self._gpu_stale = True
        return int(ids.size)

    def compact(self, only: np.ndarray | None = None) -> None:
        """Rebuild without tombstoned vectors (HNSW only); `only` limits it to ids about to return."""
        if not self._tombstones.size:
            return
        if only is not None and not np.isin(only, self._tombstones).any():
            return
        keep = self._ids
        vectors = self.reconstruct(keep) if keep.size else np.zeros((0, self.dim), np.float32)
        self._index = self._build(self.factory)
        self._tombstones = np.zeros(0, dtype=np.int64)
        if keep.size:
            self._index.add_with_ids(vectors, keep)
        self._gpu_stale = True

    def reconstruct(self, ids) -> np.ndarray:
        """Stored vectors for ids (exact for Flat/HNSW, decoded approximations for PQ)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if self.native_ids and self._index.direct_map.type != _faiss().DirectMap.Hashtable:
            self._index.set_direct_map_type(_faiss().DirectMap.Hashtable)
        return np.vstack([self._index.reconstruct(int(i)) for i in ids]) if ids.size else \
            np.zeros((0, self.dim), np.float32)

    # -- search ---------------------------------------------------------------------------------
    def _params(self, allowed_ids: np.ndarray | None, k: int):
        faiss = _faiss()
        selector = None
        if allowed_ids is not None:
            allowed = np.setdiff1d(np.asarray(allowed_ids, dtype=np.int64), self._tombstones)
            selector = faiss.IDSelectorBatch(allowed)
        elif self._tombstones.size:
            selector = faiss.IDSelectorNot(faiss.IDSelectorBatch(self._tombstones))
        inner = self._inner()
        if isinstance(inner, faiss.IndexHNSW):
            params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k))
        elif hasattr(inner, "nprobe"):
            params = faiss.SearchParametersIVF(nprobe=min(self.nprobe, inner.nlist))
        else:
            params = faiss.SearchParameters()
        if selector is not None:
            params.sel = selector
        return params, selector is not None

    def search(self, vectors: np.ndarray, k: int, allowed_ids=None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k by inner product; `allowed_ids` restricts the search to those ids (filters)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim == 1:
            vectors = vectors.reshape(1, -1)
        if vectors.shape[1] != self.dim:
            raise ValueError(f"query vectors must have {self.dim} columns, got {vectors.shape[1]}")
        k = int(k)
        if k <= 0 or self.ntotal == 0 or vectors.shape[0] == 0:
            return (np.zeros((vectors.shape[0], max(k, 0)), np.float32),
                    np.full((vectors.shape[0], max(k, 0)), -1, np.int64))
        params, selective = self._params(allowed_ids, k)
        if not selective and self._use_gpu():
            gpu = self._gpu_index()
            if gpu is not None:
                scores, ids = gpu.search(vectors, k)
                return scores, ids
        scores, ids = self._index.search(vectors, k, params=params)
        scores[ids < 0] = -np.inf
        return scores, ids

    # -- GPU ------------------------------------------------------------------------------------
    def _use_gpu(self) -> bool:
        if self.device == "cpu":
            return False
        available = gpu_available()
        if self.device == "gpu" and not available:
            raise RetrievalError(
                "SUPPORTBOT_FAISS_DEVICE=gpu but no GPU is usable by FAISS: install faiss-gpu "
                "(`pip install supportbot[gpu]`) on a CUDA machine, or set it to auto/cpu."
            )
        return available

    def _gpu_resources(self):
        if getattr(self, "_gpu_res", None) is None:
            self._gpu_res = _faiss().StandardGpuResources()
        return self._gpu_res

    def _gpu_index(self):
        if not self._gpu_stale:
            return self._gpu
        faiss = _faiss()
        self._gpu_stale = False
        self._gpu = None
        if isinstance(self._inner(), faiss.IndexHNSW):
            return None  # FAISS has no GPU HNSW; the CPU graph serves
        try:
            self._gpu = faiss.index_cpu_to_gpu(self._gpu_resources(), 0, self._index)
            if hasattr(self._inner(), "nprobe"):
                faiss.GpuParameterSpace().set_index_parameter(self._gpu, "nprobe", self.nprobe)
        except RuntimeError as exc:
            log.warning("GPU copy of %s failed (%s); searching on CPU", self.factory, exc)
        return self._gpu

    # -- persistence ----------------------------------------------------------------------------
    def memory_bytes(self) -> int:
        faiss = _faiss()
        return int(faiss.serialize_index(self._index).size)

    def save(self, directory: Path) -> None:
        faiss = _faiss()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self._index, str(directory / "index.faiss"))
        np.save(directory / "ids.npy", self._ids)
        np.save(directory / "tombstones.npy", self._tombstones)
        meta = {"format_version": FORMAT_VERSION, "factory": self.factory, "dim": self.dim,
                "ntotal": self.ntotal, "tombstones": int(self._tombstones.size),
                "ef_search": self.ef_search, "nprobe": self.nprobe}
        (directory / "vector_index.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: Path, device: str = "auto") -> VectorIndex:
        faiss = _faiss()
        directory = Path(directory)
        try:
            meta = json.loads((directory / "vector_index.json").read_text())
            index = faiss.read_index(str(directory / "index.faiss"))
            ids = np.load(directory / "ids.npy")
            tombstones = np.load(directory / "tombstones.npy")
        except (OSError, ValueError, RuntimeError) as exc:
            raise IndexCorrupt(
                f"Cannot read the vector index in {directory} ({exc}); rebuild it with "
                "`supportbot kb ingest --rebuild PATH...`."
            ) from exc
        if meta.get("format_version") != FORMAT_VERSION:
            raise IndexCorrupt(f"{directory} has index format {meta.get('format_version')}, "
                               f"this version reads {FORMAT_VERSION}: rebuild it with `supportbot kb ingest`.")
        self = cls.__new__(cls)
        self.dim, self.factory, self.device = int(meta["dim"]), meta["factory"], device
        self.ef_search, self.nprobe = meta["ef_search"], meta["nprobe"]
        self._index, self._ids, self._tombstones = index, ids.astype(np.int64), tombstones.astype(np.int64)
        self._gpu, self._gpu_stale = None, True
        if self.ntotal and self._index.ntotal - self._tombstones.size != self.ntotal:
            raise IndexCorrupt(f"{directory}: id list and FAISS index disagree; rebuild the index.")
        return self
