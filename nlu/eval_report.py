"""`--report DIR` of `supportbot eval intents`: confusion matrix and per-intent table, as CSV and PNG.

Files: confusion_matrix.csv/.png (rows: gold, columns: predicted; "<fallback>" is the rejection
column when the test has no out-of-scope label), per_intent.csv/.png (precision, recall, F1, support; worst F1 first), predictions.csv
(every test message with its prediction and confidence, wrong ones first), operating_curve.png (in-scope
accuracy against out-of-scope recall at each fallback threshold, the learnt one marked; our classifier only).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def write_report(directory: Path, test_rows: list[tuple[str, str]], scores, predictions: list[dict],
                 curve: list[dict] | None = None, point: dict | None = None) -> dict:
    directory.mkdir(parents=True, exist_ok=True)
    gold = scores.gold
    final = scores.answers()
    labels = sorted(set(gold))
    columns = labels + sorted(set(final) - set(labels))
    matrix = np.zeros((len(labels), len(columns)), dtype=int)
    col = {c: j for j, c in enumerate(columns)}
    row = {g: i for i, g in enumerate(labels)}
    for g, p in zip(gold, final):
        matrix[row[g], col[p]] += 1

    files = {
        "confusion_matrix_csv": directory / "confusion_matrix.csv",
        "confusion_matrix_png": directory / "confusion_matrix.png",
        "per_intent_csv": directory / "per_intent.csv",
        "per_intent_png": directory / "per_intent.png",
        "predictions_csv": directory / "predictions.csv",
    }
    with files["confusion_matrix_csv"].open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["gold \\ predicted"] + columns)
        for label, counts in zip(labels, matrix):
            writer.writerow([label] + counts.tolist())

    table = _per_intent(labels, gold, final)
    with files["per_intent_csv"].open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["intent", "precision", "recall", "f1", "support"])
        writer.writeheader()
        writer.writerows(table)

    order = sorted(range(len(gold)), key=lambda i: (gold[i] == final[i], predictions[i]["confidence"]))
    with files["predictions_csv"].open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "gold", "predicted", "confidence", "top1", "top1_confidence"])
        for i in order:
            p = predictions[i]
            writer.writerow([test_rows[i][0], gold[i], final[i], round(p["confidence"], 4), p["top1"],
                             round(p["top1_confidence"], 4)])

    _plot_confusion(matrix, labels, columns, files["confusion_matrix_png"])
    _plot_per_intent(table, files["per_intent_png"])
    if curve:
        files["operating_curve_png"] = directory / "operating_curve.png"
        _plot_operating_curve(curve, point, files["operating_curve_png"])
    return {name: str(path) for name, path in files.items()}


def _per_intent(labels: list[str], gold: list[str], final: list[str]) -> list[dict]:
    g, f = np.array(gold), np.array(final)
    table = []
    for label in labels:
        tp = int(((g == label) & (f == label)).sum())
        predicted, support = int((f == label).sum()), int((g == label).sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        table.append({"intent": label, "precision": round(precision, 4), "recall": round(recall, 4),
                      "f1": round(f1, 4), "support": support})
    return sorted(table, key=lambda r: (r["f1"], r["intent"]))


def _plot_confusion(matrix: np.ndarray, labels: list[str], columns: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = max(6.0, 0.18 * len(columns) + 3)
    fig, ax = plt.subplots(figsize=(size, size * len(labels) / max(len(columns), 1) + 1))
    normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    font = 9 if len(columns) <= 20 else 5
    ax.set_xticks(range(len(columns)), columns, rotation=90, fontsize=font)
    ax.set_yticks(range(len(labels)), labels, fontsize=font)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title("Confusion matrix (row-normalised)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_per_intent(table: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.16 * len(table) + 1)))
    ax.barh([r["intent"] for r in table], [r["f1"] for r in table], color="#4c72b0")
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1")
    ax.tick_params(axis="y", labelsize=9 if len(table) <= 20 else 5)
    ax.set_title("Per-intent F1 (worst first)")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_operating_curve(curve: list[dict], point: dict | None, path: Path) -> None:
    """In-scope accuracy vs OOS recall over thresholds (vs the threshold itself without OOS rows)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    has_oos = curve[0]["oos_recall"] is not None
    xs = [c["oos_recall"] if has_oos else c["threshold"] for c in curve]
    fig, ax = plt.subplots(figsize=(6.5, 5))
    ax.plot(xs, [c["in_scope_accuracy"] for c in curve], "o-", color="#4c72b0", markersize=4)
    for x, c in zip(xs, curve):
        if round(c["threshold"] * 20) % 4 == 0:
            ax.annotate(f"{c['threshold']:.2f}", (x, c["in_scope_accuracy"]), fontsize=7,
                        textcoords="offset points", xytext=(4, 4))
    if point is not None:
        px = point["oos_recall"] if has_oos else point["threshold"]
        share = point.get("expected_oos_share")
        ax.plot([px], [point["in_scope_accuracy"]], "o", color="#c44e52", markersize=9,
                label=f"learnt threshold {point['threshold']:.2f}" + (f" (expected OOS share {share})" if share else ""))
        ax.legend(loc="lower left", fontsize=8)
    ax.set_xlabel("out-of-scope recall" if has_oos else "fallback threshold")
    ax.set_ylabel("in-scope accuracy (answered and right)")
    ax.set_title("Operating curve: each point is a fallback threshold")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
