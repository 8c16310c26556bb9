"""Fine-tuning the dual encoder on (context → next agent reply) pairs.

One shared sentence-transformer encodes contexts and replies. The loss is sentence-transformers'
MultipleNegativesRankingLoss: every other reply in the batch is a negative for a context (in-batch
negatives), plus hard negatives — replies the starting model ranks near the top for that context,
mined from a FAISS index of the response bank, which teach the distinctions in-batch negatives are
too easy to teach. The loop is ours (a few dozen lines) rather than the Trainer's, so it needs no
`datasets` package and shows one tqdm bar on stderr.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from finetune.batching import mine_hard_negatives, no_duplicate_batches
from finetune.errors import NotEnoughData


@dataclass
class TrainConfig:
    base_model: str  # path or name of the sentence-transformer to start from
    epochs: int = 1
    max_steps: int = 0  # 0: as many as the epochs take
    batch_size: int = 32
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.1
    hard_negatives: int = 1  # mined per pair; 0 trains on in-batch negatives only
    hard_negative_top_k: int = 10  # drawn among the nearest neighbours of the true reply
    max_seq_length: int = 64
    scale: float = 20.0  # similarity scale of the loss (1 / temperature)
    eval_every: int = 0  # steps between validation passes; 0: only at the start and the end
    seed: int = 13
    device: str = "auto"  # auto: CUDA when available


class STEncoder:
    """The model being trained, seen through the `encode(texts, progress)` interface the
    evaluators and the miner use (normalised float32 rows, no gradients)."""

    def __init__(self, model, batch_size: int = 64):
        self.model = model
        self.batch_size = batch_size

    def encode(self, texts: list[str], progress: bool = False):
        import numpy as np

        if not texts:
            return np.zeros((0, self.model.get_sentence_embedding_dimension()), dtype=np.float32)
        was_training = self.model.training
        self.model.eval()
        try:
            vecs = self.model.encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True,
                                     normalize_embeddings=True, show_progress_bar=progress)
        finally:
            self.model.train(was_training)
        return np.ascontiguousarray(vecs, dtype=np.float32)


def resolve_device(device: str) -> str:
    import torch

    if device in ("auto", "gpu"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class DualEncoderTrainer:
    """`train(pairs, out_dir)` writes the fine-tuned encoder to `out_dir/encoder` and returns what
    the manifest records about the run (loss history, validation history, timing)."""

    def __init__(self, config: TrainConfig, progress: bool = True, faiss_device: str = "cpu"):
        self.config = config
        self.progress = progress
        self.faiss_device = faiss_device
        self.model = None

    def load(self) -> DualEncoderTrainer:
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        torch.manual_seed(self.config.seed)
        self.model = SentenceTransformer(self.config.base_model, device=resolve_device(self.config.device))
        self.model.max_seq_length = self.config.max_seq_length
        return self

    def encoder(self) -> STEncoder:
        return STEncoder(self.model)

    def scorer(self):
        from finetune.evaluation import EncoderScorer

        return EncoderScorer(self.encoder(), name="in-training")

    def train(self, pairs: list[dict], out_dir: Path, validation=None) -> dict:
        """`validation`: a RankingEvaluator run at step 0, every `eval_every` steps and at the end."""
        if self.model is None:
            self.load()
        if len(pairs) < 2:
            raise NotEnoughData(f"{len(pairs)} (context, reply) pairs: training needs at least 2; import more logs")
        t0, cpu0 = time.monotonic(), time.process_time()
        examples = self._with_hard_negatives(pairs)
        mining_s = time.monotonic() - t0
        plan, total = self._plan(examples)
        steps, losses, history = self._optimise(examples, plan, total, validation)
        train_s = time.monotonic() - t0
        self._save(Path(out_dir), losses, history)
        return {
            "config": asdict(self.config),
            "steps": steps,
            "pairs": len(pairs),
            "dropped_as_duplicates": plan[0][1],
            "hard_negative_mining_seconds": round(mining_s, 1),
            "train_seconds": round(train_s, 1),
            "cpu_seconds": round(time.process_time() - cpu0, 1),  # honest on a shared machine
            "device": str(self.model.device),
            "final_loss": round(sum(losses[-20:]) / len(losses[-20:]), 4),
            "validation": history,
            "losses": losses,
        }

    def _with_hard_negatives(self, pairs: list[dict]) -> list[dict]:
        """Each pair with its mined hard negatives (replies of the bank close to, but not, its reply)."""
        cfg = self.config
        bank = sorted({p["reply"] for p in pairs})
        negatives = mine_hard_negatives(self.encoder(), pairs, bank, cfg.hard_negatives, cfg.hard_negative_top_k,
                                        cfg.seed, self.faiss_device, progress=self.progress)
        return [{**p, "negatives": n} for p, n in zip(pairs, negatives)]

    def _plan(self, examples: list[dict]) -> tuple[list[tuple[list[list[int]], int]], int]:
        """(batches per epoch with their dropped count, total steps capped by max_steps)."""
        cfg = self.config
        plan = [no_duplicate_batches(examples, cfg.batch_size, cfg.seed + e) for e in range(max(1, cfg.epochs))]
        total = sum(len(b) for b, _ in plan)
        total = min(total, cfg.max_steps) if cfg.max_steps else total
        if total == 0:
            raise NotEnoughData("no batch of at least 2 distinct replies could be formed; import more logs")
        return plan, total

    def _columns(self, rows: list[dict]) -> list[list[str]]:
        """The loss's inputs for one batch: contexts, replies, then one column per hard negative."""
        k = self.config.hard_negatives
        columns = [[r["context"] for r in rows], [r["reply"] for r in rows]]
        if k and all(len(r["negatives"]) == k for r in rows):
            columns += [[r["negatives"][j] for r in rows] for j in range(k)]
        return columns

    def _optimise(self, examples: list[dict], plan, total: int, validation) -> tuple[int, list[float], list[dict]]:
        """The training loop: (steps taken, loss per step, validation history)."""
        import torch
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
        from tqdm.auto import tqdm
        from transformers import get_linear_schedule_with_warmup

        cfg = self.config
        loss_fn = MultipleNegativesRankingLoss(self.model, scale=cfg.scale)
        optimiser = torch.optim.AdamW(self.model.parameters(), lr=cfg.learning_rate)
        schedule = get_linear_schedule_with_warmup(optimiser, math.ceil(cfg.warmup_ratio * total), total)
        history = [{"step": 0, **validation.evaluate(self.scorer())}] if validation else []
        losses: list[float] = []
        self.model.train()
        bar = tqdm(total=total, desc="fine-tuning", unit="step", file=sys.stderr, disable=not self.progress)
        step = 0
        for batches, _ in plan:
            for batch in batches:
                if step >= total:
                    break
                features = [self._features(col) for col in self._columns([examples[i] for i in batch])]
                loss = loss_fn(features, None)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                optimiser.step()
                schedule.step()
                optimiser.zero_grad()
                step += 1
                losses.append(round(float(loss.detach()), 5))
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.3f}")
                if validation and cfg.eval_every and step % cfg.eval_every == 0 and step < total:
                    history.append({"step": step, **validation.evaluate(self.scorer())})
                    bar.write(f"validation at step {step}: {history[-1]}", file=sys.stderr)
        bar.close()
        if validation:
            history.append({"step": step, **validation.evaluate(self.scorer())})
        return step, losses, history

    def _save(self, out_dir: Path, losses: list[float], history: list[dict]) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.model.save(str(out_dir / "encoder"))
        (out_dir / "training_log.json").write_text(json.dumps({"losses": losses, "validation": history}))

    def _features(self, texts: list[str]) -> dict:
        feats = self.model.preprocess(texts)
        device = self.model.device
        return {k: v.to(device) if hasattr(v, "to") else v for k, v in feats.items()}

