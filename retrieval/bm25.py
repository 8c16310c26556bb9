"""BM25 keyword search over passages (bm25s, English stop words, Snowball stemming; Chinese by word).

Why next to dense search: exact terms — product names, fee names, error codes — are where
embeddings blur and keywords do not; fused by reciprocal rank they cover each other's misses.
Rebuilt from the passage store on every ingest (seconds for a knowledge base) and saved with
the index version. `score_ids` scores only given passages (hybrid search's dense candidates): one
sparse lookup per query term, no top-k over the corpus and no thread pool per call.

Chinese has no spaces: text holding Chinese characters is segmented into words by jieba first
(rasa_plugins.cjk, the same segmentation as Rasa's tokenizer) and each word's characters are added as
terms too (a question's 卡 meets an article's 银行卡); a few function words (的, 了, 吗, ...) are stop words. English text is tokenised exactly
as before.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

_STEMMER = None


def _stemmer():
    global _STEMMER
    if _STEMMER is None:
        import Stemmer

        _STEMMER = Stemmer.Stemmer("english")
    return _STEMMER


# English words of two letters or more (bm25s' default), or one Chinese character (a word after segmentation)
TOKEN_PATTERN = r"(?u)\b\w\w+\b|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
ZH_STOPWORDS = ["的", "了", "吗", "呢", "吧", "啊", "呀", "是", "在", "和", "与", "就", "都", "也", "还", "把", "被",
                "我", "你", "您", "我们", "他", "她", "它", "这", "那", "个", "请问", "怎么办"]
_ZH_STOP = frozenset(ZH_STOPWORDS)
_STOPWORDS: list[str] | None = None


def _stopwords() -> list[str]:
    global _STOPWORDS
    if _STOPWORDS is None:
        from bm25s.stopwords import STOPWORDS_EN

        _STOPWORDS = list(STOPWORDS_EN) + ZH_STOPWORDS
    return _STOPWORDS


def _segmented(texts: list[str]) -> list[str]:
    """Chinese runs split into search terms (words and their characters, space-separated); other text unchanged."""
    from rasa_plugins.cjk import has_cjk, search_terms

    return [" ".join(search_terms(t, _ZH_STOP)) if has_cjk(t) else t for t in texts]


def _tokenize(texts: list[str], return_ids: bool = True):
    import bm25s

    return bm25s.tokenize(_segmented(texts), token_pattern=TOKEN_PATTERN, stopwords=_stopwords(),
                          stemmer=_stemmer(), show_progress=False, return_ids=return_ids)


class BM25Index:
    def __init__(self, ids: np.ndarray, model):
        self.ids = np.asarray(ids, dtype=np.int64)
        self._model = model
        self._row_of = {int(i): r for r, i in enumerate(self.ids)}

    @classmethod
    def build(cls, ids, texts: list[str]) -> BM25Index:
        import bm25s

        model = bm25s.BM25()
        if texts:
            model.index(_tokenize(texts), show_progress=False)
        return cls(np.asarray(ids, dtype=np.int64), model if texts else None)

    def __len__(self) -> int:
        return int(self.ids.size)

    def search(self, query: str, k: int, allowed_ids=None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, passage ids); only positive-score hits, so a query of stop words finds nothing."""
        empty = (np.zeros(0, np.float32), np.zeros(0, np.int64))
        if self._model is None or k <= 0:
            return empty
        tokens = _tokenize([query])
        if not any(tokens.ids):
            return empty
        mask = None
        if allowed_ids is not None:
            rows = [self._row_of[int(i)] for i in allowed_ids if int(i) in self._row_of]
            if not rows:
                return empty
            mask = np.zeros(len(self), dtype=np.float32)
            mask[rows] = 1.0
        k = min(k, len(self))
        rows, scores = self._model.retrieve(tokens, k=k, show_progress=False, weight_mask=mask, n_threads=1)
        rows, scores = rows[0], scores[0]
        keep = scores > 0
        return scores[keep].astype(np.float32), self.ids[rows[keep]]

    def score_ids(self, query: str, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """BM25 (scores, passage ids) of the passages `ids`, best first, at most k, positive only."""
        empty = (np.zeros(0, np.float32), np.zeros(0, np.int64))
        if self._model is None or k <= 0 or len(ids) == 0:
            return empty
        terms = _tokenize([query], return_ids=False)[0]
        term_ids = self._model.get_tokens_ids(list(terms))
        if not term_ids:
            return empty
        scores = self._model.get_scores_from_ids(term_ids)
        wanted = np.asarray([int(i) for i in ids if int(i) in self._row_of], dtype=np.int64)
        if wanted.size == 0:
            return empty
        mine = scores[[self._row_of[int(i)] for i in wanted]].astype(np.float32)
        order = np.argsort(-mine, kind="stable")[:k]
        keep = order[mine[order] > 0]
        return mine[keep], wanted[keep]

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / "ids.npy", self.ids)
        if self._model is not None:
            self._model.save(str(directory / "model"), show_progress=False)
        (directory / "bm25.json").write_text(json.dumps({"passages": len(self), "empty": self._model is None}))

    @classmethod
    def load(cls, directory: Path) -> BM25Index:
        import bm25s

        directory = Path(directory)
        meta = json.loads((directory / "bm25.json").read_text())
        model = None if meta["empty"] else bm25s.BM25.load(str(directory / "model"))
        return cls(np.load(directory / "ids.npy"), model)
