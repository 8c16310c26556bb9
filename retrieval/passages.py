"""The passages store: one SQLite file per index version holding documents and their passages.

Why SQLite (stdlib): the index directory must be self-contained and copyable, lookups by id are
needed per search, and documents carry the content hashes that make re-ingestion incremental.
Passage ids are allocated from a counter and never reused, so a stale id can never point at
another passage.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np

from retrieval.chunking import Passage
from retrieval.documents import Document

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, source TEXT NOT NULL, title TEXT NOT NULL, url TEXT NOT NULL,
    content_hash TEXT NOT NULL, meta TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(doc_id),
    position INTEGER NOT NULL, heading TEXT NOT NULL, text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id);
"""
BUILTIN_FILTER_KEYS = ("doc_id", "source", "title", "url")


class PassageStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False)
        self._db.executescript(SCHEMA)
        self._docs: dict[str, dict] | None = None

    def close(self) -> None:
        self._db.close()

    def copy_to(self, path: Path) -> PassageStore:
        """A consistent copy (SQLite backup API) for building the next index version."""
        target = sqlite3.connect(str(path))
        with target:
            self._db.backup(target)
        target.close()
        return PassageStore(path)

    # -- documents -------------------------------------------------------------------------------
    def documents(self) -> dict[str, dict]:
        if self._docs is None:
            rows = self._db.execute("SELECT doc_id, source, title, url, content_hash, meta FROM documents")
            self._docs = {r[0]: {"doc_id": r[0], "source": r[1], "title": r[2], "url": r[3],
                                 "content_hash": r[4], "meta": json.loads(r[5])} for r in rows}
        return self._docs

    def _next_ids(self, n: int) -> np.ndarray:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'next_id'").fetchone()
        start = int(row[0]) if row else 1
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('next_id', ?)", (str(start + n),))
        return np.arange(start, start + n, dtype=np.int64)

    def put_document(self, doc: Document, passages: list[Passage]) -> tuple[np.ndarray, np.ndarray]:
        """Insert or replace a document and its passages; returns (removed ids, new ids)."""
        with self._db:
            old = self._remove(doc.doc_id)
            self._db.execute(
                "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?)",
                (doc.doc_id, doc.source, doc.title, doc.url, doc.content_hash, json.dumps(doc.meta, default=str)),
            )
            ids = self._next_ids(len(passages))
            self._db.executemany(
                "INSERT INTO passages VALUES (?, ?, ?, ?, ?)",
                [(int(i), doc.doc_id, p.position, p.heading, p.text) for i, p in zip(ids, passages)],
            )
        self._docs = None
        return old, ids

    def remove_document(self, doc_id: str) -> np.ndarray:
        with self._db:
            old = self._remove(doc_id)
        self._docs = None
        return old

    def _remove(self, doc_id: str) -> np.ndarray:
        old = np.array([r[0] for r in self._db.execute("SELECT id FROM passages WHERE doc_id = ?", (doc_id,))],
                       dtype=np.int64)
        self._db.execute("DELETE FROM passages WHERE doc_id = ?", (doc_id,))
        self._db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
        return old

    # -- passages --------------------------------------------------------------------------------
    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM passages").fetchone()[0])

    def all_passages(self) -> list[tuple[int, str, str]]:
        """(id, document title, passage text) ordered by id: what BM25 and re-encoding read."""
        return list(self._db.execute(
            "SELECT p.id, d.title, p.text FROM passages p JOIN documents d USING (doc_id) ORDER BY p.id"))

    def get(self, ids) -> dict[int, dict]:
        ids = [int(i) for i in ids if int(i) >= 0]
        out: dict[int, dict] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = self._db.execute(
                "SELECT p.id, p.doc_id, d.title, d.url, p.text, p.heading, p.position FROM passages p "
                f"JOIN documents d USING (doc_id) WHERE p.id IN ({','.join('?' * len(chunk))})", chunk)
            for r in rows:
                out[r[0]] = {"passage_id": r[0], "doc_id": r[1], "title": r[2], "url": r[3], "text": r[4],
                             "heading": r[5], "position": r[6]}
        return out

    def allowed_ids(self, filters: dict | None) -> np.ndarray | None:
        """Passage ids of documents matching every filter (value or list of values); None = all.

        Keys are doc_id, source, title, url or any metadata key of the documents (front matter,
        record fields, the handbook's flow/subflow).
        """
        if not filters:
            return None
        docs = self.documents()
        known = set(BUILTIN_FILTER_KEYS) | {k for d in docs.values() for k in d["meta"]}
        unknown = sorted(set(filters) - known)
        if unknown:
            raise ValueError(f"unknown filter key(s) {unknown}; this index knows {sorted(known)}")

        def matches(doc: dict) -> bool:
            for key, wanted in filters.items():
                value = doc[key] if key in BUILTIN_FILTER_KEYS else doc["meta"].get(key)
                options = wanted if isinstance(wanted, (list, tuple, set)) else [wanted]
                if value is None or str(value) not in {str(o) for o in options}:
                    return False
            return True

        keep = [d for d, doc in docs.items() if matches(doc)]
        ids: list[int] = []
        for start in range(0, len(keep), 500):
            chunk = keep[start:start + 500]
            ids += [r[0] for r in self._db.execute(
                f"SELECT id FROM passages WHERE doc_id IN ({','.join('?' * len(chunk))})", chunk)]
        return np.array(sorted(ids), dtype=np.int64)
