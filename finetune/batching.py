"""Training examples for the dual encoder: hard negatives mined from the response bank's FAISS
index, and batches in which no reply appears twice.

Why no duplicates: MultipleNegativesRankingLoss treats every other reply in the batch as wrong for a
context. If "Thank you and goodbye." is the answer to two contexts of one batch, each copy is
punished as the other's negative, which teaches the model to avoid the most common correct replies.
"""

from __future__ import annotations

import random

import numpy as np


def mine_hard_negatives(encoder, pairs: list[dict], bank: list[str], per_pair: int = 1, top_k: int = 10,
                        seed: int = 13, faiss_device: str = "cpu", progress: bool = False) -> list[list[str]]:
    """For each pair, `per_pair` replies drawn among the `top_k` nearest neighbours of its true reply
    in a FAISS index of the response bank, as the starting encoder sees them.

    Why neighbours of the reply rather than of the context: the bank has a few thousand distinct
    replies but the logs tens of thousands of contexts, so this encodes a fraction of the text
    (mining on 2 CPU cores takes minutes, not an hour), and a reply's neighbours are exactly the
    near-misses to tell apart ("For what time…" vs "For how many people should the reservation be made?").
    """
    from retrieval.vector_index import VectorIndex, choose_factory

    if per_pair <= 0 or not pairs or len(bank) < 2:
        return [[] for _ in pairs]
    bank_vecs = encoder.encode(bank, progress=progress)
    index = VectorIndex(bank_vecs.shape[1], choose_factory(len(bank), bank_vecs.shape[1]), device=faiss_device)
    index.add(np.arange(len(bank), dtype=np.int64), bank_vecs)
    _, ids = index.search(bank_vecs, min(top_k + 1, len(bank)))
    neighbours = {text: [bank[j] for j in ids[i] if j >= 0 and j != i][:top_k] for i, text in enumerate(bank)}
    rng = random.Random(seed)
    out = []
    for p in pairs:
        near = neighbours.get(p["reply"], [])
        out.append(rng.sample(near, min(per_pair, len(near))))
    return out


def no_duplicate_batches(examples: list[dict], batch_size: int, seed: int) -> tuple[list[list[int]], int]:
    """Shuffled batches of example indices where no text (reply or hard negative) repeats.

    Returns (batches, dropped): examples left over once only duplicates of each other remain (a reply
    more frequent than there are batches) are dropped for this epoch rather than trained in tiny batches.
    """
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    remaining = dict.fromkeys(order)
    batches: list[list[int]] = []
    min_size = max(2, batch_size // 2)
    while remaining:
        batch, texts = [], set()
        for i in remaining:
            keys = {examples[i]["reply"], *examples[i].get("negatives", ())}
            if texts.isdisjoint(keys):
                batch.append(i)
                texts |= keys
                if len(batch) == batch_size:
                    break
        if len(batch) < min_size:
            break
        for i in batch:
            del remaining[i]
        batches.append(batch)
    return batches, len(remaining)
