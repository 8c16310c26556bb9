"""Per-language weights inside the one intent model (bilingual bots, docs/nlu.md "Bilingual bots").

Every row of the classifier's features has a language: the caller's code per message (the classifier uses
`rasa_plugins.cjk.script_language`: "zh" for a message written mostly in Chinese characters, "other" else).
`blocks[lang][block]` multiplies that feature block in that language's rows, after the block scaler, in
training and at inference alike, and in the sentence embeddings the out-of-scope detector compares;
`sample[lang]` weighs that language's training examples in every SVM fit.

Invariant: a language without an entry keeps weight 1 everywhere, and with no entries at all every method
returns its input (or None), so an English-only bot trains exactly the model it trained before.
Plain numpy / scipy; no Rasa.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


class LanguageWeights:
    """Block multipliers and example weights per language code."""

    def __init__(self, blocks: dict[str, dict[str, float]] | None = None, sample: dict[str, float] | None = None):
        self.blocks = {str(k): {str(b): float(w) for b, w in v.items()} for k, v in (blocks or {}).items()}
        self.sample = {str(k): float(v) for k, v in (sample or {}).items()}
        for lang, weights in self.blocks.items():
            if any(w < 0 for w in weights.values()):
                raise ValueError(f"language_weights for {lang!r}: block weights must be 0 or more, got {weights}")
        if any(w <= 0 for w in self.sample.values()):
            raise ValueError(f"language_sample_weight must be positive, got {self.sample}")

    def __bool__(self) -> bool:
        return bool(self.blocks) or bool(self.sample)

    def factors(self, name: str, languages: list[str] | None) -> np.ndarray | None:
        """Per-row multipliers of block `name` (None: all 1)."""
        if not languages or not self.blocks:
            return None
        f = np.array([self.blocks.get(lang, {}).get(name, 1.0) for lang in languages], dtype=np.float32)
        return None if np.all(f == 1.0) else f

    def apply(self, X: sp.csr_matrix, names: list[str], dims: dict[str, int],
              languages: list[str] | None) -> sp.csr_matrix:
        """The scaler's matrix (blocks `names` side by side, `dims` wide) with each row's block weights."""
        if not languages or not self.blocks:
            return X
        per_block = [self.factors(name, languages) for name in names]
        if all(f is None for f in per_block):
            return X
        table = np.vstack([np.ones(X.shape[0], np.float32) if f is None else f for f in per_block])
        block_of_col = np.repeat(np.arange(len(names)), [dims[name] for name in names])
        rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        X = X.copy()
        X.data *= table[block_of_col[X.indices], rows]
        X.eliminate_zeros()
        return X

    def dense(self, name: str, m: np.ndarray, languages: list[str] | None) -> np.ndarray:
        """A dense block with its rows weighted (the detector's embeddings)."""
        f = self.factors(name, languages)
        return m if f is None else m * f[:, None]

    def sample_weights(self, languages: list[str] | None) -> np.ndarray | None:
        """Each training example's weight in the SVM (None: all 1)."""
        if not languages or not self.sample:
            return None
        w = np.array([self.sample.get(lang, 1.0) for lang in languages], dtype=np.float64)
        return None if np.all(w == 1.0) else w
