"""Command line of the retrieval engine: `supportbot kb ...` and `supportbot eval retrieval`.

Light at import (click only); everything heavy is imported inside the commands. Results go to
stdout as JSON, progress and human notes to stderr, so the commands compose with `jq`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


def _settings():
    from core.settings import get_settings

    return get_settings()


def _emit(obj) -> None:
    click.echo(json.dumps(obj, indent=2, default=str))


def _fail_on_retrieval_error(fn):
    """Turn our errors (missing index, mismatched encoder, broken input) into clean CLI errors."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from retrieval.errors import RetrievalError

        try:
            return fn(*args, **kwargs)
        except (RetrievalError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


@click.group()
def kb() -> None:
    """Knowledge base: ingest documents into the search index, search it, show its status."""


@kb.command("ingest")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--index-dir", type=click.Path(path_type=Path), help="Index directory (default var/index/kb).")
@click.option("--rebuild", is_flag=True, help="Re-read and re-encode everything instead of updating.")
@click.option("--factory", help="Force the FAISS index type, e.g. 'HNSW32,Flat' (default: by corpus size).")
@click.option("--strict", is_flag=True, help="Exit with status 1 when any file could not be ingested.")
@_fail_on_retrieval_error
def ingest(paths: tuple[Path, ...], index_dir: Path | None, rebuild: bool, factory: str | None,
           strict: bool) -> None:
    """Ingest PATHS (files or folders; default SUPPORTBOT_KB_DIR): md, txt, html, json, jsonl, csv,
    and the ABCD handbook. Unchanged documents are skipped; broken files are reported and skipped."""
    from retrieval.ingest import ingest_paths

    settings = _settings()
    report = ingest_paths(list(paths) or [settings.kb_dir], index_dir or settings.index_dir, settings=settings,
                          rebuild=rebuild, factory=factory)
    for err in report["errors"]:
        click.echo(f"skipped {err['path']}: {err['error']}", err=True)
    click.echo(f"{report['added']} added, {report['updated']} updated, {report['removed']} removed, "
               f"{report['unchanged']} unchanged; {report['passages']} passages in a {report['index_type']} "
               f"index (version {report['version']})", err=True)
    _emit(report)
    if strict and report["errors"]:
        sys.exit(1)


def _parse_filters(items: tuple[str, ...]) -> dict | None:
    filters: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: use KEY=VALUE, e.g. --filter category=Cards", param_hint="--filter")
        filters.setdefault(key, []).append(value)
    return filters or None


@kb.command("search")
@click.argument("query")
@click.option("--k", default=5, show_default=True, help="How many passages.")
@click.option("--mode", type=click.Choice(["dense", "bm25", "hybrid"]), help="Default SUPPORTBOT_RETRIEVAL_MODE.")
@click.option("--filter", "filters", multiple=True, help="KEY=VALUE on document fields/metadata (repeatable).")
@click.option("--index-dir", type=click.Path(path_type=Path))
@_fail_on_retrieval_error
def search(query: str, k: int, mode: str | None, filters: tuple[str, ...], index_dir: Path | None) -> None:
    """Search the knowledge base and print the passages as JSON."""
    from retrieval.service import Retriever

    parsed = _parse_filters(filters)
    retriever = Retriever(index_dir, settings=_settings(), mode=mode).load()
    _emit({"query": query, "results": retriever.search(query, k=k, filters=parsed)})


@kb.command("status")
@click.option("--index-dir", type=click.Path(path_type=Path))
@_fail_on_retrieval_error
def status(index_dir: Path | None) -> None:
    """Print the current index version's manifest."""
    from retrieval.index_dir import IndexDir

    settings = _settings()
    _emit(IndexDir(index_dir or settings.index_dir).require_manifest())


@click.command("retrieval")
@click.option("--corpus", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='JSONL lines {"id","title","text"}.')
@click.option("--queries", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='JSONL lines {"query","relevant_ids":[...]}.')
@click.option("--k", default=10, show_default=True, help="Cut-off for recall@k, MRR and nDCG.")
@click.option("--index-dir", type=click.Path(path_type=Path),
              help="Keep the evaluation index here (default: a temporary directory).")
@_fail_on_retrieval_error
def eval_retrieval(corpus: Path, queries: Path, k: int, index_dir: Path | None) -> None:
    """Recall@1/5/k, MRR@k, nDCG@k and latency for dense, BM25 and hybrid search, as one JSON object."""
    from retrieval.evaluate import evaluate

    _emit(evaluate(corpus, queries, k=k, index_dir=index_dir, settings=_settings()))
