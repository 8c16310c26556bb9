"""`supportbot eval retrieval`: document-level ranking quality of dense, BM25 and hybrid search.

The corpus is ingested exactly as a knowledge base would be (same chunking, same index), into a
temporary index; each query's passages are collapsed to their documents (first occurrence keeps
the rank) and compared with the query's relevant document ids; a question is searched in its own language (Chinese characters:
`zh`, else `en`; retrieval/language.py), as the action server searches in the conversation's. Latency is the wall time of one
`Retriever.search` call — encoding included — on this machine, and its CPU time (all threads),
which other load on a shared machine inflates less than the wall clock.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from core.settings import Settings
from retrieval.documents import iter_jsonl
from retrieval.errors import DocumentError, RetrievalError


class RankingMetrics:
    """Recall@1/5/k, MRR@k and nDCG@k (binary relevance) averaged over queries."""

    def __init__(self, k: int):
        self.k = k
        self.rows: list[dict] = []

    @property
    def depth(self) -> int:
        return max(self.k, 5)

    def add(self, ranked: list[str], relevant: set[str]) -> None:
        hits = [1.0 if d in relevant else 0.0 for d in ranked[: self.k]]
        first = next((i for i, h in enumerate(hits) if h), None)
        dcg = sum(h / math.log2(i + 2) for i, h in enumerate(hits))
        ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), self.k)))
        row = {f"recall@{c}": len(set(ranked[:c]) & relevant) / len(relevant) for c in sorted({1, 5, self.k})}
        row[f"mrr@{self.k}"] = 0.0 if first is None else 1.0 / (first + 1)
        row[f"ndcg@{self.k}"] = dcg / ideal
        self.rows.append(row)

    def summary(self) -> dict:
        return {key: round(float(np.mean([r[key] for r in self.rows])), 4) for key in self.rows[0]} if self.rows else {}


def read_queries(path: Path) -> list[dict]:
    out = []
    try:
        for n, rec in iter_jsonl(path.read_text(encoding="utf-8")):
            relevant = rec.get("relevant_ids") if isinstance(rec, dict) else None
            if not isinstance(relevant, list) or not relevant or not isinstance(rec.get("query"), str):
                raise DocumentError(f'line {n}: expected {{"query": "...", "relevant_ids": ["doc id", ...]}}')
            out.append({"query": rec["query"], "relevant": {str(r) for r in relevant}})
    except DocumentError as exc:
        raise DocumentError(f"{path}: {exc}") from exc
    if not out:
        raise DocumentError(f"{path} holds no queries")
    return out


def ranked_documents(results: list[dict], k: int) -> list[str]:
    seen: list[str] = []
    for r in results:
        if r["doc_id"] not in seen:
            seen.append(r["doc_id"])
        if len(seen) == k:
            break
    return seen


def evaluate(corpus: Path, queries: Path, *, settings: Settings, k: int = 10, index_dir: Path | None = None,
             modes: tuple[str, ...] = ("dense", "bm25", "hybrid")) -> dict:
    from retrieval.ingest import ingest_paths
    from retrieval.service import MAX_K, Retriever

    questions = read_queries(Path(queries))
    with tempfile.TemporaryDirectory(prefix="supportbot-eval-") as tmp:
        target = Path(index_dir) if index_dir else Path(tmp) / "index"
        print(f"indexing {corpus} ...", file=sys.stderr)
        report = ingest_paths([Path(corpus)], target, settings=settings)
        if report["errors"]:
            raise RetrievalError(f"the corpus did not ingest cleanly: {report['errors'][0]['error']}")
        unknown = {r for q in questions for r in q["relevant"]} - set(_doc_ids(target))
        if unknown:
            raise RetrievalError(f"relevant_ids not in the corpus: {sorted(unknown)[:5]}")
        from retrieval.query_encoder import query_encoder

        # queries are embedded as in production: the query encoder (ONNX, what Rasa's vector is)
        retriever = Retriever(target, settings=settings, encoder=query_encoder(settings)).load()
        out: dict = {}
        depth = min(MAX_K, 5 * max(k, 5))  # passages fetched so that k distinct documents remain
        for mode in modes:
            metrics, latencies, cpu = RankingMetrics(k), [], []
            retriever.search(questions[0]["query"], k=depth, mode=mode, language="auto")  # warm-up
            for q in questions:
                t0, c0 = time.perf_counter(), time.process_time()
                # in the question's language, as the action server searches in the conversation's
                results = retriever.search(q["query"], k=depth, mode=mode, language="auto")
                latencies.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
                metrics.add(ranked_documents(results, metrics.depth), q["relevant"])
            out[mode] = {**metrics.summary(), **{
                f"{name}p{q}_ms": round(float(np.percentile(values, q)), 2)
                for name, values in (("", latencies), ("cpu_", cpu)) for q in (50, 95)}}
            print(f"{mode}: {out[mode]}", file=sys.stderr)
        out["setup"] = {"load_avg_1m": round(os.getloadavg()[0], 2), "corpus": str(corpus),
                        "queries": len(questions), "documents": report["documents"],
                        "passages": report["passages"], "index_type": report["index_type"], "k": k,
                        "encoder": retriever.manifest["encoder"]["name"],
                        "query_encoder": type(retriever.encoder).__name__, "rrf_k": settings.rrf_k,
                        "bm25_weight": settings.bm25_weight,
                        "chunk_tokens": settings.chunk_tokens, "reranker": settings.reranker_model or None}
    return out


def _doc_ids(index_dir: Path) -> list[str]:
    from retrieval.index_dir import IndexDir
    from retrieval.passages import PassageStore

    store = PassageStore(IndexDir(index_dir).current() / "passages.sqlite")
    try:
        return list(store.documents())
    finally:
        store.close()
