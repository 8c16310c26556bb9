"""Ingest knowledge-base files into the versioned index, incrementally.

`ingest_paths(paths, index_dir)` reads every supported file under `paths`, compares each
document's content hash with the current index version, and builds the next version holding only
the changes: new and changed documents are chunked and encoded, changed and deleted documents'
passages leave the vector index. Nothing changed → no new version, no encoder load.

Scope of deletion: a document disappears from the index when it is no longer found under one of
the *given* paths; documents that came from other paths are left alone, and a file that fails to
parse keeps its previous passages (broken input never deletes knowledge). Broken files are
reported by name in `errors` and skipped.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.settings import Settings
from retrieval.builder import Builder
from retrieval.documents import SUFFIXES, Document, read_file
from retrieval.encoder import Encoder
from retrieval.errors import DocumentError, EncoderMismatch
from retrieval.index_dir import IndexDir, check_encoder
from retrieval.passages import PassageStore


@dataclass
class Scan:
    docs: dict[str, Document] = field(default_factory=dict)
    errors: list[dict] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)  # resolved paths whose documents we now know
    failed_sources: set[str] = field(default_factory=set)

    def in_scope(self, source: str) -> bool:
        return source not in self.failed_sources and any(
            source == r or source.startswith(r.rstrip(os.sep) + os.sep) for r in self.roots)


def scan(paths: list[Path]) -> Scan:
    """Read every supported file under `paths`; unreadable ones are recorded, not raised."""
    out = Scan()
    for path in map(Path, paths):
        if not path.exists():
            out.errors.append({"path": str(path), "error": f"{path}: not found (nothing under it was removed)"})
            continue
        root = path.resolve()
        out.roots.append(str(root))
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            pairs = [(f, str(f.relative_to(path))) for f in files]
        else:
            pairs = [(path, path.name)]
        for file, doc_id_base in pairs:
            try:
                docs = read_file(file, doc_id_base)
            except DocumentError as exc:
                out.errors.append({"path": str(file), "error": str(exc)})
                out.failed_sources.add(str(file.resolve()))
                continue
            for doc in docs:
                if doc.doc_id in out.docs:
                    out.errors.append({"path": str(file), "error": (
                        f"{file}: document id {doc.doc_id!r} already comes from "
                        f"{out.docs[doc.doc_id].source}; kept the first, give this one another id")})
                    continue
                out.docs[doc.doc_id] = doc
    return out


def ingest_paths(paths: list[Path], index_dir: Path, *, settings: Settings, encoder: Encoder | None = None,
                 rebuild: bool = False, factory: str | None = None, progress: bool | None = None) -> dict:
    """Bring the index at `index_dir` up to date with the documents under `paths`; returns a report.

    The report: added/updated/removed/unchanged (documents), errors [{path, error}], documents,
    passages, index_type, version, rebuilt (why the index was built from scratch, or None), seconds.
    A changed encoder rebuilds from scratch when every indexed document is under `paths`, and
    raises `EncoderMismatch` otherwise (re-encoding only part would mix two vector spaces).
    """
    started = time.perf_counter()
    store = IndexDir(Path(index_dir), keep=settings.index_versions_kept)
    found = scan([Path(p) for p in paths])
    encoder = encoder or Encoder.from_settings(settings)
    with store.lock():
        manifest = None if rebuild else store.read_manifest()
        current = store.current() if manifest else None
        reason = "requested" if rebuild else ("new index" if manifest is None else None)
        if manifest is not None:
            try:
                check_encoder(manifest, encoder.fingerprint, encoder.name, store.root)
            except EncoderMismatch:
                if _documents_outside(current, found):
                    raise
                manifest, current, reason = None, None, "encoder changed"
        version = store.new_version()
        try:
            build = Builder(found, version, current, manifest, encoder, settings, factory, progress).run()
        except BaseException:
            store.discard(version)
            raise
        report = dict(build.report)
        if build.noop:
            store.discard(version)
            report["version"] = manifest["version"]
            report["rebuilt"] = None
        else:
            report["rebuilt"] = reason
            published = store.publish(version, build.manifest)
            report["version"] = published["version"]
    report["errors"] = found.errors
    report["index_dir"] = str(store.root)
    report["seconds"] = round(time.perf_counter() - started, 3)
    return report


def _documents_outside(current: Path, found: Scan) -> list[str]:
    old = PassageStore(current / "passages.sqlite")
    try:
        return [d for d, doc in old.documents().items() if not found.in_scope(doc["source"])]
    finally:
        old.close()
