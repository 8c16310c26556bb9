"""Builds one new index version from the previous one plus the changes a scan found.

Kept apart from `ingest.py` (which decides *whether* and *from what* to build) because this is
the part that touches the encoder, FAISS and BM25: chunk and encode only new/changed documents,
patch the vector index in place (remove + add), and rebuild it only when the corpus size calls
for another index type (or one was forced), reusing stored vectors whenever they are exact.
"""

from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.bm25 import BM25Index
from retrieval.chunking import Chunker, embed_text
from retrieval.encoder import Encoder
from retrieval.passages import PassageStore
from retrieval.questions import QuestionVectors
from retrieval.vector_index import VectorIndex, choose_factory

PROGRESS_MIN_PASSAGES = 500  # the encoder's progress bar shows from this many passages on
COMPACT_FRACTION = 0.2  # rebuild an HNSW graph once this share of its vectors are tombstones
LOSSY = ("PQ", "SQ", "LSH")  # factories whose stored vectors are approximations


def data_fingerprint(docs: dict[str, dict]) -> str:
    digest = hashlib.sha256()
    for doc_id in sorted(docs):
        digest.update(f"{doc_id}|{docs[doc_id]['content_hash']}\n".encode())
    return "sha256:" + digest.hexdigest()[:32]


@dataclass
class Build:
    """What `Builder.run` did: `report` (counts, documents, passages, index type) goes to the caller's
    report; `manifest` is the new version's manifest to publish, None when nothing changed (no-op)."""

    report: dict[str, Any]
    manifest: dict[str, Any] | None = None

    @property
    def noop(self) -> bool:
        return self.manifest is None


class Builder:
    def __init__(self, found, version: Path, current: Path | None, manifest: dict | None,
                 encoder: Encoder, settings, factory: str | None, progress: bool | None):
        self.found, self.version, self.current, self.manifest = found, version, current, manifest
        self.encoder, self.settings, self.factory, self.progress = encoder, settings, factory, progress

    def _target_factory(self, n: int, dim: int) -> str:
        s = self.settings
        return self.factory or s.index_factory or choose_factory(n, dim, s.index_memory_mb, s.flat_max_passages)

    def _open_store(self) -> PassageStore:
        target = self.version / "passages.sqlite"
        if self.current is None:
            return PassageStore(target)
        old = PassageStore(self.current / "passages.sqlite")
        try:
            return old.copy_to(target)
        finally:
            old.close()

    def run(self) -> Build:
        store = self._open_store()
        try:
            return self._run(store)
        finally:
            store.close()

    def _run(self, store: PassageStore) -> Build:
        existing = store.documents()
        found = self.found.docs
        added = [d for i, d in found.items() if i not in existing]
        updated = [d for i, d in found.items() if i in existing and (
            existing[i]["content_hash"] != d.content_hash or existing[i]["source"] != d.source)]
        removed = [i for i, doc in existing.items() if i not in found and self.found.in_scope(doc["source"])]
        counts = {"added": len(added), "updated": len(updated), "removed": len(removed),
                  "unchanged": len(found) - len(added) - len(updated)}
        if self.manifest is not None and not (added or updated or removed):
            index = self.manifest["index"]
            if index["factory"] == self._target_factory(store.count(), self.manifest["encoder"]["dim"]):
                return Build({**counts, "documents": len(existing), "passages": store.count(),
                              "index_type": index["factory"]})

        old_ids: list[np.ndarray] = [store.remove_document(i) for i in removed]
        new_ids: list[np.ndarray] = []
        texts: list[str] = []
        if added or updated:
            self.encoder.load()
            chunker = Chunker(self.settings.chunk_tokens, self.settings.chunk_overlap_tokens,
                              self.encoder.count_tokens)
            for doc in added + updated:
                passages = chunker.split(doc)
                old, ids = store.put_document(doc, passages)
                old_ids.append(old)
                new_ids.append(ids)
                texts += [p.embed_text(doc.title) for p in passages]
        gone = np.concatenate(old_ids) if old_ids else np.zeros(0, np.int64)
        fresh = np.concatenate(new_ids) if new_ids else np.zeros(0, np.int64)
        vectors = self._encode(texts)
        index = self._update_index(store, gone, fresh, vectors)
        index.save(self.version)

        rows = store.all_passages()
        BM25Index.build([r[0] for r in rows], [f"{r[1]}\n{r[2]}" for r in rows]).save(self.version / "bm25")
        docs = store.documents()
        previous = QuestionVectors.load(self.current) if self.current is not None else None
        QuestionVectors.build(docs, self._encode_questions, previous).save(self.version)
        encoder = self.encoder.describe() if self.encoder.loaded else self.manifest["encoder"]
        manifest = {
            "built_by": "retrieval.ingest.ingest_paths (supportbot kb ingest / supportbot train)",
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "encoder": encoder,
            "index": {"factory": index.factory, "vectors": index.ntotal,
                      "bytes": (self.version / "index.faiss").stat().st_size},
            "documents": len(docs), "passages": len(rows), "fingerprint": data_fingerprint(docs),
            "sources": self.found.roots, "changes": counts,
            "settings": {k: getattr(self.settings, k) for k in (
                "chunk_tokens", "chunk_overlap_tokens", "hnsw_ef_search", "ivf_nprobe", "flat_max_passages",
                "index_memory_mb")},
        }
        return Build({**counts, "documents": len(docs), "passages": len(rows), "index_type": index.factory},
                     manifest)

    def _encode_questions(self, texts: list[str]) -> np.ndarray:
        """Articles' example questions, on the query side (`encode`), as the customer's message is embedded."""
        self.encoder.load()
        return self.encoder.encode(texts)

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            dim = self.encoder.dim if self.encoder.loaded else self.manifest["encoder"]["dim"]
            return np.zeros((0, dim), np.float32)
        progress = self.progress if self.progress is not None else (
            len(texts) >= PROGRESS_MIN_PASSAGES and sys.stderr.isatty())
        # E5-style encoders embed documents with their own prefix (`passage: `)
        encode = getattr(self.encoder, "encode_passages", self.encoder.encode)
        return encode(texts, progress=progress)

    def _update_index(self, store: PassageStore, gone, fresh, vectors) -> VectorIndex:
        dim = vectors.shape[1]
        target = self._target_factory(store.count(), dim)
        device = self.settings.faiss_device
        params = {"ef_search": self.settings.hnsw_ef_search, "nprobe": self.settings.ivf_nprobe}
        old = VectorIndex.load(self.current, device=device) if self.current is not None else None
        if old is not None and old.factory == target:
            old.ef_search, old.nprobe = params["ef_search"], params["nprobe"]
            old.remove(gone)
            old.add(fresh, vectors)
            if old.tombstones > COMPACT_FRACTION * max(old.ntotal, 1):
                old.compact()
            return old
        # a new index type: all kept vectors plus the new ones
        index = VectorIndex(dim, target, device=device, **params)
        kept = np.setdiff1d(old.ids() if old is not None else np.zeros(0, np.int64), gone)
        if kept.size and not any(tag in old.factory for tag in LOSSY):
            kept_vectors = old.reconstruct(kept)
        elif kept.size:  # stored vectors are approximate: encode the kept passages again
            self.encoder.load()
            rows = {r[0]: embed_text(r[1], r[2]) for r in store.all_passages()}
            kept_vectors = self._encode([rows[int(i)] for i in kept])
        else:
            kept_vectors = np.zeros((0, dim), np.float32)
        all_ids = np.concatenate([kept, fresh])
        all_vectors = np.vstack([kept_vectors, vectors])
        if all_ids.size:
            index.add(all_ids, all_vectors)
        return index
