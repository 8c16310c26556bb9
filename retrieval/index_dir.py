"""The versioned index directory and its manifest.

Layout (`var/index/kb/` by default):

    manifest.json            the manifest of the current version (this file is the pointer)
    versions/<version>/      index.faiss, ids.npy, vector_index.json, passages.sqlite, bm25/,
                             manifest.json
    .lock                    held while an ingest builds the next version

Why versions: an ingest builds a complete new version beside the current one and publishes it by
atomically replacing the top-level manifest, so a crash mid-build loses nothing and a running
action server keeps serving the old version until it reloads.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
import uuid
from pathlib import Path

from retrieval.errors import EncoderMismatch, IndexCorrupt, IndexMissing

MANIFEST_FORMAT = 1


def missing_message(root: Path) -> str:
    return (f"No knowledge-base index at {root}. Build it with `supportbot train` (indexes "
            "SUPPORTBOT_KB_DIR) or `supportbot kb ingest PATH...`.")


def check_encoder(manifest: dict, fingerprint: str, name: str, root: Path) -> None:
    """Refuse an index built with another encoder: its vectors live in a different space."""
    built = manifest.get("encoder", {})
    if built.get("fingerprint") != fingerprint:
        raise EncoderMismatch(
            f"The index at {root} was built with the encoder {built.get('name')!r} "
            f"({built.get('fingerprint')}), but the configured encoder is {name!r} ({fingerprint}). "
            "Rebuild the index with `supportbot kb ingest --rebuild PATH...` (or `supportbot train`), "
            "or set SUPPORTBOT_ENCODER_MODEL back to the encoder it was built with."
        )


class IndexDir:
    def __init__(self, root: Path, keep: int = 3):
        self.root = Path(root)
        self.keep = max(1, keep)

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def read_manifest(self) -> dict | None:
        try:
            manifest = json.loads(self.manifest_path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise IndexCorrupt(f"{self.manifest_path} is unreadable ({exc}); rebuild with "
                               "`supportbot kb ingest --rebuild PATH...`.") from exc
        if manifest.get("format_version") != MANIFEST_FORMAT:
            raise IndexCorrupt(f"{self.manifest_path} has format {manifest.get('format_version')}; this "
                               f"version reads {MANIFEST_FORMAT}. Rebuild with `supportbot kb ingest --rebuild`.")
        return manifest

    def require_manifest(self) -> dict:
        manifest = self.read_manifest()
        if manifest is None:
            raise IndexMissing(missing_message(self.root))
        return manifest

    def current(self) -> Path | None:
        manifest = self.read_manifest()
        if manifest is None:
            return None
        path = self.root / manifest["path"]
        if not path.is_dir():
            raise IndexCorrupt(f"{self.manifest_path} points at {path}, which is gone; rebuild with "
                               "`supportbot kb ingest --rebuild PATH...`.")
        return path

    def new_version(self) -> Path:
        name = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]
        path = self.root / "versions" / name
        path.mkdir(parents=True)
        return path

    def publish(self, version: Path, manifest: dict) -> dict:
        """Write the version's manifest, then point the top-level manifest at it atomically."""
        manifest = {"format_version": MANIFEST_FORMAT, "version": version.name,
                    "path": str(version.relative_to(self.root)), **manifest}
        text = json.dumps(manifest, indent=2, sort_keys=True, default=str)
        (version / "manifest.json").write_text(text)
        tmp = self.root / f".manifest.{uuid.uuid4().hex[:8]}.tmp"
        tmp.write_text(text)
        os.replace(tmp, self.manifest_path)
        self.prune(current=version)
        return manifest

    def discard(self, version: Path) -> None:
        shutil.rmtree(version, ignore_errors=True)

    def prune(self, current: Path) -> None:
        versions = sorted(p for p in (self.root / "versions").iterdir() if p.is_dir())
        old = [p for p in versions if p != current][: max(0, len(versions) - self.keep)]
        for path in old:
            shutil.rmtree(path, ignore_errors=True)

    @contextlib.contextmanager
    def lock(self):
        """One builder at a time (a second ingest waits for the first)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
