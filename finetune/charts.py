"""The two PNGs saved beside every trained model: the loss curve and the evaluation chart."""

from __future__ import annotations

from pathlib import Path


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # files only; never a display
    import matplotlib.pyplot as plt

    return plt


def loss_curve(losses: list[float], path: Path, title: str = "training loss") -> Path:
    """Raw loss per step and a moving average, so a trend is visible through batch noise."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = list(range(1, len(losses) + 1))
    ax.plot(steps, losses, alpha=0.35, label="loss per step")
    window = max(1, len(losses) // 20)
    if window > 1:
        smooth = [sum(losses[max(0, i - window + 1): i + 1]) / len(losses[max(0, i - window + 1): i + 1])
                  for i in range(len(losses))]
        ax.plot(steps, smooth, label=f"moving average ({window} steps)")
    ax.set_xlabel("step")
    ax.set_ylabel("MultipleNegativesRankingLoss")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def eval_chart(history: list[dict], path: Path, final: dict | None = None) -> Path:
    """Validation recall@1 and MRR over training steps (step 0 is the starting model); when `final`
    holds side-by-side results (`{"base": {...}, "bm25": {...}, "finetuned": {...}}`) they are shown
    as bars beside it."""
    plt = _plt()
    panels = 2 if final else 1
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4), squeeze=False)
    ax = axes[0][0]
    if history:
        steps = [h["step"] for h in history]
        for metric in ("recall@1", "mrr"):
            ax.plot(steps, [h[metric] for h in history], marker="o", label=metric)
    ax.set_xlabel("step")
    ax.set_ylim(0, 1)
    ax.set_title("validation during training (recall of 100)")
    if history:
        ax.legend()
    if final:
        bx = axes[0][1]
        names = [n for n in ("bm25", "base", "serving", "finetuned") if n in final]
        xs = range(len(names))
        bx.bar([x - 0.2 for x in xs], [final[n]["recall@1"] for n in names], width=0.4, label="recall@1")
        bx.bar([x + 0.2 for x in xs], [final[n]["mrr"] for n in names], width=0.4, label="MRR")
        bx.set_xticks(list(xs), names)
        bx.set_ylim(0, 1)
        bx.set_title("held-out test set")
        bx.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
