"""`supportbot logs|retrain|models`: light at import time (heavy imports inside commands).

Reports and results go to stdout as JSON; progress bars and step messages go to stderr.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from finetune.errors import FinetuneError

KIND_CHOICE = click.Choice(["responses", "generator"])


def _settings():
    from core.settings import get_settings

    return get_settings()


def _emit(obj: dict) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))


def _registry():
    from finetune.registry import Registry

    return Registry.open(_settings().db_url)


@click.group()
def logs() -> None:
    """Import conversation logs for training (cleaned and anonymised before they are stored)."""


@logs.command("import")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--since", default=None, help="only conversations with activity on or after DATE (YYYY-MM-DD)")
@click.option("--from-store", is_flag=True, help="read the platform's conversation store (DATABASE_URL)")
@click.option("--tracker-url", default=None, help="read Rasa's SQL tracker store at this SQLAlchemy URL")
def import_logs(file: Path | None, since: str | None, from_store: bool, tracker_url: str | None) -> None:
    """Import FILE (JSONL, one conversation per line) and/or the store and Rasa's tracker store.

    Malformed lines are reported with their line numbers and skipped; the rest is kept.
    """
    from finetune.archive import save_import
    from finetune.importers import read_jsonl, read_store, read_tracker_store
    from finetune.preprocess import preprocess

    if not (file or from_store or tracker_url):
        raise click.UsageError("give a FILE, --from-store or --tracker-url")
    settings = _settings()
    reports = []
    readers = {str(file): lambda: read_jsonl(file, since), "store": lambda: read_store(settings.db_url, since),
               "tracker": lambda: read_tracker_store(tracker_url, since)}
    chosen = [name for name, wanted in ((str(file), file), ("store", from_store), ("tracker", tracker_url)) if wanted]
    try:
        for name in chosen:
            result = readers[name]()
            conversations, prep = preprocess(result.conversations, settings.finetune_min_turns)
            report = {"import": result.report(), **prep}
            for err in result.errors[:20]:
                click.echo(f"{name}: line {err['line']}: {err['error']}", err=True)
            report["saved_to"] = str(save_import(conversations, report, settings.var_dir, name))
            reports.append(report)
    except FinetuneError as exc:
        raise click.ClickException(str(exc)) from exc
    _emit(reports[0] if len(reports) == 1 else {"sources": reports})


@click.command()
@click.option("--since", default=None, help="train on logs with activity on or after DATE (YYYY-MM-DD)")
@click.option("--file", "files", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="also read this JSONL log file (repeatable)")
@click.option("--no-store", is_flag=True, help="do not read the platform's conversation store")
@click.option("--from-base", is_flag=True, help="start from the base encoder, not from the serving model")
@click.option("--max-steps", type=int, default=None, help="cap optimiser steps (default: setting)")
@click.option("--epochs", type=int, default=None)
@click.option("--generator", is_flag=True, help="train the generative option (LoRA on SUPPORTBOT_GENERATOR_BASE_MODEL)")
def retrain(since, files, no_store, from_base, max_steps, epochs, generator) -> None:
    """import → clean → anonymise → train → evaluate → promote only if better than the serving model."""
    from finetune.pipeline import retrain as run
    from finetune.pipeline import retrain_generator

    registry = _registry()
    try:
        if generator:
            report = retrain_generator(_settings(), registry, since=since, files=list(files),
                                       use_store=not no_store, max_steps=max_steps)
        else:
            report = run(_settings(), registry, since=since, files=list(files), use_store=not no_store,
                         from_base=from_base, max_steps=max_steps, epochs=epochs)
    except FinetuneError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        registry.close()
    _emit(report)


@click.group()
def models() -> None:
    """The model registry: list, promote, roll back."""


@models.command("list")
@click.option("--kind", type=KIND_CHOICE, default=None)
def list_models(kind: str | None) -> None:
    registry = _registry()
    try:
        rows = registry.list(kind)
    finally:
        registry.close()
    for row in rows:
        r1 = row["metrics"].get("heldout", {}).get("recall@1", "")
        flag = f" NEEDS RETRAIN: {row['retrain_reason']}" if row.get("needs_retrain") else ""
        click.echo(f"{row['kind']:10} {row['version']:28} {row['status']:9} recall@1={r1!s:6} {row['note'][:80]}{flag}")
    if not rows:
        click.echo("no models registered yet: run `supportbot retrain`", err=True)


@models.command("promote")
@click.argument("version")
@click.option("--kind", type=KIND_CHOICE, default="responses")
def promote(version: str, kind: str) -> None:
    """Serve VERSION now (the action server picks it up without a restart)."""
    registry = _registry()
    try:
        _emit(registry.promote(kind, version, note="promoted by hand"))
    except FinetuneError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        registry.close()


@models.command("rollback")
@click.option("--kind", type=KIND_CHOICE, default="responses")
def rollback(kind: str) -> None:
    """Go back to the model that served before the current one."""
    registry = _registry()
    try:
        _emit(registry.rollback(kind))
    except FinetuneError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        registry.close()


@models.command("quantize")
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def quantize(model_dir: Path) -> None:
    """Write (or rewrite) the int8 copy of MODEL_DIR's ONNX encoder and record it in its manifest.

    For a response model built before int8 copies were made, or whose copy is damaged; served only with
    SUPPORTBOT_RESPONSE_ENCODER_PRECISION=int8."""
    from finetune.response_encoder import int8_fields
    from finetune.response_model import read_manifest, write_manifest

    try:
        manifest = read_manifest(model_dir)
    except FinetuneError as exc:
        raise click.ClickException(str(exc)) from exc
    fields = int8_fields(model_dir, manifest)
    if fields.get("encoder_onnx_int8") is None:
        raise click.ClickException(f"no int8 copy made: {fields.get('encoder_onnx_int8_error')}")
    manifest = {k: v for k, v in manifest.items() if k != "encoder_onnx_int8_error"} | fields
    if "files" in manifest and "encoder-onnx-int8/" not in manifest["files"]:
        manifest["files"] = [*manifest["files"], "encoder-onnx-int8/"]
    write_manifest(model_dir, manifest)
    _emit({"model_dir": str(model_dir), **fields})
