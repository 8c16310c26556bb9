"""`Retriever`: the knowledge-base search the action server calls in-process.

Cheap to construct; `load()` reads the manifest, refuses an index built with another encoder
*before* loading any weights, then loads the encoder, the FAISS index, the passage store, BM25
and (when configured) the cross-encoder. `search()` returns plain dicts, best first.

Scores: results are ordered by the chosen mode (dense, BM25, or both fused by reciprocal rank,
then optionally reranked), but `score` is always the cosine similarity of query and passage — a
number comparable across queries and modes, which is what a "low confidence → offer a human"
threshold needs. The ordering score is in `rank_score`.

One embedding per query: `search(..., vector=v)` uses a vector the caller already has (the action
server gets Rasa's); only without one is the query encoded. In hybrid mode BM25 scores only the
dense candidates (`retrieval_candidates` of them), so its cost does not grow with the index.

A newly published index version (`supportbot kb ingest` while the bot runs) is picked up by the
next search after at most `RELOAD_CHECK_S` seconds: one stat of the manifest, then an atomic swap.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.settings import Settings
from retrieval.bm25 import BM25Index
from retrieval.encoder import Encoder
from retrieval.errors import IndexCorrupt
from retrieval.index_dir import IndexDir, check_encoder
from retrieval.language import prefer_language, query_language
from retrieval.passages import PassageStore
from retrieval.questions import QuestionVectors, reorder
from retrieval.rerank import Reranker
from retrieval.vector_index import VectorIndex

log = logging.getLogger(__name__)

MODES = ("dense", "bm25", "hybrid")
MAX_QUERY_CHARS = 2000
MAX_K = 100
RELOAD_CHECK_S = 5.0


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = 60,
                           weights: list[float] | None = None) -> list[tuple[int, float]]:
    """Sum of weight/(k + rank) over the rankings an id appears in; best first, ties by first seen."""
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings)):
        for rank, pid in enumerate(ranking, start=1):
            scores[int(pid)] = scores.get(int(pid), 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


@dataclass
class _Loaded:
    manifest: dict
    index: VectorIndex
    store: PassageStore
    bm25: BM25Index
    manifest_mtime: float
    questions: QuestionVectors | None = None


class Retriever:
    def __init__(self, index_dir: Path | None, settings: Settings, encoder: Encoder | None = None,
                 mode: str | None = None, reranker: Reranker | None = None):
        self.settings = settings
        self.dir = IndexDir(Path(index_dir) if index_dir is not None else settings.index_dir)
        self.encoder = encoder or Encoder.from_settings(settings)
        self.mode = mode or settings.retrieval_mode
        if self.mode not in MODES:
            raise ValueError(f"retrieval mode {self.mode!r} is not one of {MODES} (SUPPORTBOT_RETRIEVAL_MODE)")
        self.reranker = reranker or (Reranker(settings.reranker_model, device=settings.encoder_device)
                                     if settings.reranker_model else None)
        self._state: _Loaded | None = None
        self._lock = threading.RLock()
        self._next_check = 0.0

    # -- loading ----------------------------------------------------------------------------------
    def _read(self) -> _Loaded:
        manifest = self.dir.require_manifest()
        check_encoder(manifest, self.encoder.fingerprint, self.encoder.name, self.dir.root)
        version = self.dir.current()
        try:
            index = VectorIndex.load(version, device=self.settings.faiss_device)
            index.ef_search, index.nprobe = self.settings.hnsw_ef_search, self.settings.ivf_nprobe  # settings win
            return _Loaded(manifest, index, PassageStore(version / "passages.sqlite"),
                           BM25Index.load(version / "bm25"), self.dir.manifest_path.stat().st_mtime,
                           QuestionVectors.load(version))
        except (OSError, ValueError) as exc:
            raise IndexCorrupt(f"Cannot read the index version {version} ({exc}); rebuild it with "
                               "`supportbot kb ingest --rebuild PATH...`.") from exc

    def load(self) -> Retriever:
        """Load everything; raises IndexMissing / EncoderMismatch / IndexCorrupt with what to do."""
        state = self._read()
        self.encoder.load()
        if self.reranker is not None:
            self.reranker.load()
        self._swap(state)
        return self

    def _swap(self, state: _Loaded) -> None:
        with self._lock:
            old, self._state = self._state, state
            self._next_check = time.monotonic() + RELOAD_CHECK_S
        if old is not None:
            old.store.close()

    def reload_if_changed(self, force: bool = False) -> bool:
        """Pick up a newly published index version; keeps serving the old one if the new one fails."""
        if self._state is None or (not force and time.monotonic() < self._next_check):
            return False
        self._next_check = time.monotonic() + RELOAD_CHECK_S
        try:
            if self.dir.manifest_path.stat().st_mtime == self._state.manifest_mtime:
                return False
            manifest = self.dir.require_manifest()
            if manifest["version"] == self._state.manifest["version"]:
                return False
            self._swap(self._read())
        except Exception as exc:  # noqa: BLE001 - a half-written or mismatched index must not take search down
            log.warning("keeping index version %s: cannot load the new one (%s)",
                        self._state.manifest["version"], exc)
            return False
        log.info("loaded index version %s", self._state.manifest["version"])
        return True

    @property
    def manifest(self) -> dict:
        return self._require().manifest

    def _require(self) -> _Loaded:
        if self._state is None:
            raise RuntimeError("Retriever.load() must be called before searching.")
        return self._state

    # -- search -----------------------------------------------------------------------------------
    def encode_query(self, query: str) -> np.ndarray:
        """The (1, dim) float32 vector `search` would compute for `query`."""
        return self.encoder.encode([" ".join(str(query).split())[:MAX_QUERY_CHARS]])

    def search(self, query: str, k: int = 5, filters: dict | None = None, mode: str | None = None,
               vector: np.ndarray | None = None, language: str | None = None) -> list[dict]:
        """Top-k passages for `query`: dicts with passage_id, doc_id, title, url, text, score, ...

        `vector`: the query's embedding by this index's encoder, when the caller has it already.
        `language` (a code, or "auto": from the query's characters): a document in that language comes
        before another language's document on the same topic (retrieval/language.py); results get `lang`.
        """
        if not isinstance(query, str):
            raise TypeError(f"query must be a string, got {type(query).__name__}")
        query = " ".join(query.split())[:MAX_QUERY_CHARS]
        mode = mode or self.mode
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of {MODES}")
        if filters is not None and not isinstance(filters, dict):
            raise TypeError("filters must be a dict such as {'category': 'Cards'}")
        k = max(1, min(int(k), MAX_K))
        self.reload_if_changed()
        state = self._require()
        if not query:
            return []
        if vector is not None:
            vector = np.asarray(vector, dtype=np.float32).reshape(1, -1)
            if vector.shape[1] != state.index.dim:
                raise ValueError(f"query vector has {vector.shape[1]} dimensions, the index {state.index.dim}")
        if language is None:
            with self._lock:
                return self._search(state, query, k, filters, mode, vector)
        language = query_language(query) if language == "auto" else str(language)
        with self._lock:  # more results, so that the other language's version of a topic is among them
            # from the same candidates as a search without `language`: a one-language KB ranks exactly as it would
            results = self._search(state, query, min(MAX_K, 3 * k), filters, mode, vector, pool=k)
            documents = state.store.documents()
        return prefer_language(results, documents, language)[:k]

    def _search(self, state: _Loaded, query: str, k: int, filters: dict | None, mode: str,
                qv: np.ndarray | None = None, pool: int | None = None) -> list[dict]:
        """Up to `k` results; hybrid search and the reranker draw on the candidates a search for `pool`
        (default `k`) would: more candidates change BM25's ranks among them and so the fused order."""
        allowed = state.store.allowed_ids(filters)
        if allowed is not None and allowed.size == 0:
            return []
        if qv is None:
            qv = self.encoder.encode([query])
        wide = mode == "hybrid" or self.reranker is not None
        depth = max(pool or k, self.settings.retrieval_candidates, self.settings.rerank_depth) if wide else k
        dense: dict[int, float] = {}
        rankings: list[list[int]] = []
        if mode in ("dense", "hybrid"):
            scores, ids = state.index.search(qv, depth, allowed_ids=allowed)
            dense = {int(i): float(s) for s, i in zip(scores[0], ids[0]) if i >= 0}
            order = dense
            if state.questions and dense:  # articles' example questions re-order the candidates (questions.py)
                doc_of = {pid: row["doc_id"] for pid, row in state.store.get(list(dense)).items()}
                order = reorder(dense, doc_of, state.questions.best_by_document(qv[0]))
            rankings.append(list(order))
        if mode in ("bm25", "hybrid"):
            if mode == "hybrid":  # BM25 re-orders the dense candidates rather than scoring the whole index
                scores, ids = state.bm25.score_ids(query, np.fromiter(dense, dtype=np.int64), depth)
            else:
                scores, ids = state.bm25.search(query, depth, allowed_ids=allowed)
            rankings.append([int(i) for i in ids])
            lexical = dict(zip(rankings[-1], scores.tolist()))
        if mode == "hybrid":
            ranked = reciprocal_rank_fusion(rankings, self.settings.rrf_k, [1.0, self.settings.bm25_weight])
        else:
            ranked = list((order if mode == "dense" else lexical).items())
        if self.reranker is not None and ranked:
            ranked = self._rerank(state, query, ranked[: self.settings.rerank_depth])
        ranked = ranked[:k]
        ids = [pid for pid, _ in ranked]
        missing = [pid for pid in ids if pid not in dense]
        if missing:  # BM25-only hits: their cosine, from the stored vectors
            dense.update(zip(missing, (state.index.reconstruct(missing) @ qv[0]).tolist()))
        rows = state.store.get(ids)
        return [{**rows[pid], "score": round(float(dense[pid]), 6), "rank_score": round(float(rs), 6)}
                for pid, rs in ranked if pid in rows]

    def _rerank(self, state: _Loaded, query: str, ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
        rows = state.store.get([pid for pid, _ in ranked])
        ids = [pid for pid, _ in ranked if pid in rows]
        scores = self.reranker.scores(query, [rows[pid]["text"] for pid in ids])
        order = np.argsort(-scores, kind="stable")
        return [(ids[i], float(scores[i])) for i in order]

    def status(self) -> dict:
        m = self.manifest
        return {"index_dir": str(self.dir.root), "version": m["version"], "documents": m["documents"],
                "passages": m["passages"], "index_type": m["index"]["factory"], "encoder": m["encoder"]["name"],
                "built_at": m["built_at"], "mode": self.mode, "reranker": self.settings.reranker_model or None}
