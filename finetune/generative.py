"""The generative option: a causal language model fine-tuned with LoRA (peft) to write the agent's reply.

Same pairs as the dual encoder; the prompt carries retrieved knowledge-base passages (grounding)
and the conversation, newest turn first, and the loss covers only the reply tokens. Only the LoRA
adapter is saved (a few MB even for a 1B model): the model directory names its base model, which
is loaded from its hub name or local path at `Generator.load()`. `score()` gives each candidate
reply its mean token log-likelihood, so the generator is evaluated with the same recall@1-of-100
protocol as the response selector.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from finetune.charts import loss_curve
from finetune.errors import NotEnoughData
from finetune.response_model import new_version, read_manifest, write_manifest


@dataclass
class GeneratorConfig:
    base_model: str  # hub name or local path of a causal LM
    lora_rank: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    target_modules: list[str] | None = None  # None: peft's default for the architecture
    epochs: int = 1
    max_steps: int = 0
    batch_size: int = 8
    learning_rate: float = 2e-4
    max_length: int = 256
    seed: int = 13
    device: str = "auto"


def build_prompt(context: str, passages: list[str] | None = None) -> str:
    grounding = "".join(f"Passage: {p}\n" for p in (passages or []))
    return f"{grounding}Conversation (newest turn first): {context}\nAgent:"


def _device(name: str) -> str:
    import torch

    return ("cuda" if torch.cuda.is_available() else "cpu") if name in ("auto", "gpu") else name


def _dtype(device: str):
    import torch

    return torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32


def _encode_example(tokenizer, prompt: str, reply: str, max_length: int) -> tuple[list[int], list[int]]:
    """Token ids and labels (-100 on the prompt); an over-long prompt loses its oldest text."""
    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    r_ids = tokenizer(" " + reply, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    r_ids = r_ids[: max_length // 2]
    p_ids = p_ids[-(max_length - len(r_ids)):]
    return p_ids + r_ids, [-100] * len(p_ids) + r_ids


class GeneratorTrainer:
    def __init__(self, config: GeneratorConfig, progress: bool = True):
        self.config = config
        self.progress = progress

    def train(self, pairs: list[dict], out_dir: Path, passages: list[list[str]] | None = None,
              data_fingerprint: str = "") -> tuple[Path, dict]:
        import torch
        from peft import LoraConfig, get_peft_model
        from tqdm.auto import tqdm
        from transformers import AutoModelForCausalLM, AutoTokenizer, get_linear_schedule_with_warmup

        cfg = self.config
        if len(pairs) < 1:
            raise NotEnoughData("no (context, reply) pairs to train the generator on; import more logs")
        torch.manual_seed(cfg.seed)
        device = _device(cfg.device)
        t0 = time.monotonic()
        tokenizer = AutoTokenizer.from_pretrained(cfg.base_model)
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        model = AutoModelForCausalLM.from_pretrained(cfg.base_model, dtype=_dtype(device)).to(device)
        lora = LoraConfig(r=cfg.lora_rank, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                          target_modules=cfg.target_modules, task_type="CAUSAL_LM")
        model = get_peft_model(model, lora)
        examples = [_encode_example(tokenizer, build_prompt(p["context"], passages[i] if passages else None),
                                    p["reply"], cfg.max_length) for i, p in enumerate(pairs)]
        per_epoch = math.ceil(len(examples) / cfg.batch_size)
        total = cfg.max_steps or per_epoch * max(1, cfg.epochs)
        optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.learning_rate)
        schedule = get_linear_schedule_with_warmup(optimiser, math.ceil(0.05 * total), total)
        rng = np.random.default_rng(cfg.seed)
        losses: list[float] = []
        model.train()
        bar = tqdm(total=total, desc="LoRA fine-tuning", unit="step", file=sys.stderr, disable=not self.progress)
        while len(losses) < total:
            order = rng.permutation(len(examples))
            for start in range(0, len(order), cfg.batch_size):
                if len(losses) >= total:
                    break
                ids, labels, mask = self._collate([examples[i] for i in order[start:start + cfg.batch_size]],
                                                  tokenizer.pad_token_id, device)
                loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimiser.step()
                schedule.step()
                optimiser.zero_grad()
                losses.append(round(float(loss.detach()), 5))
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.3f}")
        bar.close()
        out_dir = Path(out_dir)
        model.save_pretrained(str(out_dir / "adapter"))
        tokenizer.save_pretrained(str(out_dir / "adapter"))
        loss_curve(losses, out_dir / "loss.png", title="LoRA fine-tuning loss (reply tokens)")
        (out_dir / "training_log.json").write_text(json.dumps({"losses": losses}))
        manifest = {
            "kind": "generator", "version": out_dir.name,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "built_by": "finetune.generative.GeneratorTrainer", "base_model": cfg.base_model, "adapter": "adapter",
            "config": asdict(cfg), "data": {"fingerprint": data_fingerprint, "pairs": len(pairs),
                                            "grounded": bool(passages)},
            "training": {"steps": len(losses), "train_seconds": round(time.monotonic() - t0, 1), "device": device,
                         "first_loss": losses[0], "final_loss": round(float(np.mean(losses[-10:])), 4)},
            "metrics": {}, "files": ["adapter/", "loss.png", "training_log.json"],
        }
        write_manifest(out_dir, manifest)
        return out_dir, manifest

    @staticmethod
    def _collate(batch: list[tuple[list[int], list[int]]], pad_id: int, device: str):
        import torch

        width = max(len(ids) for ids, _ in batch)
        ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, (x, y) in enumerate(batch):  # right padding; padded positions carry no loss
            ids[row, : len(x)], labels[row, : len(y)], mask[row, : len(x)] = (
                torch.tensor(x), torch.tensor(y), 1)
        return ids.to(device), labels.to(device), mask.to(device)


def train_generator(pairs: list[dict], models_dir: Path, config: GeneratorConfig, data_fingerprint: str,
                    passages: list[list[str]] | None = None, progress: bool = True) -> tuple[Path, dict]:
    out_dir = Path(models_dir) / new_version(data_fingerprint or "nodata")
    return GeneratorTrainer(config, progress).train(pairs, out_dir, passages, data_fingerprint)


class Generator:
    """A trained generator: base model + LoRA adapter, greedy decoding, candidate scoring."""

    def __init__(self, model_dir: Path | str, device: str = "auto"):
        self.model_dir = Path(model_dir)
        self.device = device
        self.manifest: dict = {}
        self.model = None
        self.tokenizer = None

    @property
    def version(self) -> str:
        return self.manifest.get("version", self.model_dir.name)

    def load(self, with_adapter: bool = True) -> Generator:
        """`with_adapter=False` gives the untouched base model: the baseline a first generator must beat."""
        from peft import PeftModel
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.manifest = read_manifest(self.model_dir)
        device = _device(self.device)
        adapter = self.model_dir / self.manifest.get("adapter", "adapter")
        self.tokenizer = AutoTokenizer.from_pretrained(str(adapter))
        base = AutoModelForCausalLM.from_pretrained(self.manifest["base_model"], dtype=_dtype(device))
        self.model = (PeftModel.from_pretrained(base, str(adapter)) if with_adapter else base).to(device).eval()
        return self

    def generate(self, context: str, passages: list[str] | None = None, max_new_tokens: int = 48) -> str:
        import torch

        ids = self.tokenizer(build_prompt(context, passages), add_special_tokens=False,
                             return_tensors="pt")["input_ids"].to(self.model.device)
        with torch.no_grad():
            out = self.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                      max_new_tokens=max_new_tokens, eos_token_id=self.tokenizer.eos_token_id,
                                      pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
        text = self.tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
        return text.split("\n")[0].strip()

    def score(self, contexts: list[str], candidates: list[list[str]],
              passages: list[list[str]] | None = None) -> list[np.ndarray]:
        """Mean log-likelihood per reply token of each candidate after its context's prompt."""
        import torch

        out = []
        for i, (context, cands) in enumerate(zip(contexts, candidates)):
            prompt = build_prompt(context, passages[i] if passages else None)
            rows = [_encode_example(self.tokenizer, prompt, c, 256) for c in cands]
            ids, labels, mask = GeneratorTrainer._collate(rows, self.tokenizer.pad_token_id or 0,
                                                          str(self.model.device))
            with torch.no_grad():
                logits = self.model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            target = labels[:, 1:]
            logp = torch.log_softmax(logits, -1).gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            keep = target != -100
            out.append(((logp * keep).sum(1) / keep.sum(1).clamp(min=1)).cpu().numpy())
        return out
