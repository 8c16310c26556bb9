"""Offline study: does fine-tuning the sentence encoder on the bot's intents lift the large set? (not the product path)

The question docs/nlu.md "Bots with out-of-scope examples of their own" left open: on the large set's dev split
(`nlu.oos_study.large_dev`, carved from its TRAIN; its test split is never read here) the shipped classifier
is right on 0.934 of in-scope messages with the `oos` class ignored, short of the 0.95 in scope asked for.
Is the frozen encoder the cap? This fine-tunes all-MiniLM-L6-v2 on the dev split's training part the way a
classifier is fine-tuned (mean-pooled, L2-normalised embedding; a cosine softmax head with scale 20 over every
label, `oos` included; AdamW, linear warm-up over 10 % of the steps then linear decay; seeded), then trains
the shipped classifier (`rasa_plugins.intent_model.IntentModel`, the knn detector, share 0.5, cap 0.15) on
its embedding plus the pipeline's n-gram blocks and scores the dev split. `--blocks both` puts the tuned and
the frozen embedding side by side as the embedding block.

Prints one JSON object: the `nlu.oos_study.score` keys, `closed_set` (in-scope accuracy with the `oos` class
and the fallback ignored), the tuning's seconds and its settings. Needs torch (the main environment).

    .venv/bin/python -m nlu.tuning_study --epochs 1
    .venv/bin/python -m nlu.tuning_study --epochs 3 --blocks both
    .venv/bin/python -m nlu.tuning_study --blocks frozen      # the baseline: no tuning
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time

import numpy as np

from nlu.oos_study import blocks_for, fit_shipped, large_dev, score


def tune(texts: list[str], labels: list[str], epochs: float, lr: float, batch: int, max_tokens: int, seed: int):
    """The fine-tuned SentenceTransformer (classification objective) and the seconds it took."""
    import torch
    from sentence_transformers import SentenceTransformer
    from torch import nn

    from core.settings import Settings
    from retrieval.encoder import resolve_model_dir

    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = SentenceTransformer(str(resolve_model_dir(Settings().encoder)), device="cpu")
    model.max_seq_length = max_tokens
    classes = sorted(set(labels))
    ids = {c: k for k, c in enumerate(classes)}
    head = nn.Linear(model.get_sentence_embedding_dimension(), len(classes), bias=False)
    optimiser = torch.optim.AdamW([{"params": list(model.parameters()), "lr": lr},
                                   {"params": list(head.parameters()), "lr": 1e-2}])
    steps = max(1, int(len(texts) / batch * epochs))
    warm = max(1.0, 0.1 * steps)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: min(1.0, (s + 1) / warm) * max(0.0, 1 - s / steps))
    started, order = time.perf_counter(), []
    model.train()
    for step in range(steps):
        if not order:
            order = list(range(len(texts)))
            rng.shuffle(order)
        take = [order.pop() for _ in range(min(batch, len(order)))]
        embedded = nn.functional.normalize(model(model.tokenize([texts[i] for i in take]))["sentence_embedding"], dim=-1)
        logits = 20.0 * embedded @ nn.functional.normalize(head.weight, dim=-1).T
        loss = nn.functional.cross_entropy(logits, torch.tensor([ids[labels[i]] for i in take]))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 50 == 0:
            print(f"step {step}/{steps} loss {loss.item():.3f}", file=sys.stderr)
    model.eval()
    return model, time.perf_counter() - started


def embedder(model):
    """texts -> float32 rows, each text encoded once."""
    cache: dict[str, np.ndarray] = {}

    def embed(texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            cache.update(zip(missing, model.encode(missing, batch_size=128, normalize_embeddings=True)))
        return np.stack([cache[t] for t in texts]).astype(np.float32)
    return embed


def closed_set(probs: np.ndarray, classes: list[str], oos_intents, gold: list[str], oos_label: str = "oos") -> float:
    """In-scope accuracy of the best real intent (columns of `probs` are `classes`), out-of-scope classes and
    the fallback ignored."""
    classes = np.array(classes)
    probs = np.array(probs, dtype=np.float64)
    probs[:, [k for k, c in enumerate(classes) if c == oos_label or c in oos_intents]] = -1.0
    gold_a = np.array(gold)
    return round(float((classes[probs.argmax(axis=1)] == gold_a)[gold_a != oos_label].mean()), 4)


def main(argv: list[str] | None = None) -> None:
    from sentence_transformers import SentenceTransformer

    from core.settings import Settings
    from retrieval.encoder import resolve_model_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--blocks", choices=["tuned", "both", "frozen"], default="tuned",
                        help="the embedding block: the tuned encoder, tuned + frozen side by side, or the frozen one "
                             "alone (no tuning: the baseline in the same protocol)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    train, dev = large_dev()
    embed_frozen = None if args.blocks == "tuned" else embedder(
        SentenceTransformer(str(resolve_model_dir(Settings().encoder)), device="cpu"))
    embed, seconds = embed_frozen, 0.0
    if args.blocks != "frozen":
        tuned, seconds = tune([t for t, _ in train], [i for _, i in train], args.epochs, args.lr, args.batch,
                              args.max_tokens, args.seed)
        embed = embed_tuned = embedder(tuned)
    if args.blocks == "both":
        def embed(texts: list[str]) -> np.ndarray:
            return np.hstack([embed_tuned(texts), embed_frozen(texts)]) / np.sqrt(2.0)
    make = blocks_for([t for t, _ in train], embed)
    train_blocks, dev_blocks = make([t for t, _ in train]), make([t for t, _ in dev])
    model = fit_shipped(train_blocks, [i for _, i in train])
    gold = [i for _, i in dev]
    result = score(model, dev_blocks, gold)
    probs, _ = model.predict(dev_blocks)
    result.update(closed_set=closed_set(probs, model.classes, model.oos_intents, gold), tune_seconds=round(seconds, 1), **vars(args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
