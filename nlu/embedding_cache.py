"""Sentence embeddings by text, computed once and kept under var/cache (the offline studies' cache).

`EmbeddingCache(path, encoder)(texts)` returns one row per text in order; texts not cached yet are
encoded with `encoder.encode` in chunks, each saved as it is done, so an interrupted run resumes.
The file is an .npz of `matrix` (float32) and `texts`; delete it after changing the encoder.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

CHUNK = 512


class EmbeddingCache:
    def __init__(self, path: Path, encoder):
        self.path = Path(path)
        self.encoder = encoder
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.index: dict[str, int] = {}
        self.matrix = np.zeros((0, 0), dtype=np.float32)
        if self.path.is_file():
            data = np.load(self.path, allow_pickle=False)
            self.matrix = data["matrix"]
            self.index = {t: i for i, t in enumerate(data["texts"].tolist())}

    def __call__(self, texts: list[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self.index})
        for start in range(0, len(missing), CHUNK):
            chunk = missing[start : start + CHUNK]
            print(f"{self.path.stem}: encoding {start + len(chunk)}/{len(missing)}", file=sys.stderr)
            new = np.asarray(self.encoder.encode(chunk), dtype=np.float32)
            base = len(self.index)
            self.index |= {t: base + i for i, t in enumerate(chunk)}
            self.matrix = np.vstack([self.matrix, new]) if len(self.matrix) else new
            np.savez(self.path, matrix=self.matrix, texts=np.array(list(self.index)))
        return self.matrix[[self.index[t] for t in texts]]
