"""`supportbot pii redact|scan FILE.jsonl` and `supportbot eval pii`.

Input lines are `{"id", "text"}`. `redact` prints, in input order, `{"id", "text" (redacted),
"entities": [{"kind", "start", "end", "score"}]}` (offsets into the original text); `scan` prints
one JSON object of counts by kind, no text. A line that is not such an object is reported on
stderr with its line number and skipped; the rest is still processed. `eval pii` prints one JSON
object (privacy.evaluate); `--generate DIR` first writes the planted-PII set (privacy.planted).
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

import click


def _records(path: Path):
    """(line number, id, text) of the good lines; bad lines reported on stderr."""
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                click.echo(f"{path}:{n}: not JSON ({exc.msg}); line skipped", err=True)
                continue
            if not isinstance(rec, dict) or "id" not in rec or not isinstance(rec.get("text"), str):
                click.echo(f'{path}:{n}: expected an object with "id" and a string "text"; line skipped', err=True)
                continue
            yield n, rec["id"], rec["text"]


def _engine():
    from privacy import get_engine

    return get_engine().warm_up()


@click.group()
def pii() -> None:
    """Find and redact personal data (names, phones, cards, IBANs, addresses, ids …)."""


@pii.command("redact")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def redact(file: Path) -> None:
    """Print each line of FILE with its personal data replaced by typed placeholders."""
    engine = _engine()
    for _, mid, text in _records(file):
        r = engine.redact(text)
        click.echo(json.dumps({"id": mid, "text": r.text, "entities": [e.as_dict() for e in r.entities]},
                              ensure_ascii=False))


@pii.command("scan")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def scan(file: Path) -> None:
    """Count personal data in FILE by kind (no text is printed)."""
    engine = _engine()
    counts: Counter[str] = Counter()
    lines = with_pii = 0
    for _, _, text in _records(file):
        lines += 1
        found = engine.analyze(text)
        with_pii += bool(found)
        counts.update(e.kind for e in found)
    click.echo(json.dumps({"lines": lines, "lines_with_pii": with_pii, "entities": dict(sorted(counts.items()))}))


def _real_controls(path: Path, n: int, engine) -> dict:
    """Share of real messages without personal data (e.g. Banking77 queries) that the engine changes."""
    import csv

    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))[1:n + 1]
    texts = [r[0] for r in rows if r and r[0].strip()]
    changed = sum(1 for t in texts if engine.analyze(t))
    return {"file": str(path), "messages": len(texts), "changed": round(changed / len(texts), 4) if texts else None}


@click.command("pii")
@click.option("--messages", type=click.Path(dir_okay=False, path_type=Path), help='JSONL of {"id", "text"}')
@click.option("--truth", type=click.Path(dir_okay=False, path_type=Path), help="JSONL of planted spans")
@click.option("--generate", "generate_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="first write the planted-PII set (dev + held parts) into this folder")
@click.option("--n", "count", type=int, default=600, show_default=True, help="messages per part with --generate")
@click.option("--part", type=click.Choice(["dev", "held"]), default="held", show_default=True,
              help="with --generate and no --messages: which part to score")
@click.option("--baseline", type=click.Choice(["none", "presidio-default"]), default="none", show_default=True,
              help="also score Presidio's default recognisers + spaCy en small")
@click.option("--real-controls", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="also: share changed of real PII-free messages (CSV, text in the first column, header row)")
@click.option("--real-n", type=int, default=1000, show_default=True, help="messages read from --real-controls")
@click.option("--show-misses", type=int, default=0, help="list up to N misses on stderr (dev data only!)")
def eval_pii(messages, truth, generate_dir, count, part, baseline, real_controls, real_n, show_misses) -> None:
    """Recall per kind/language, controls changed, ordinary words kept, messages/s (one core)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    from privacy.evaluate import load_set, misses, score

    if generate_dir is not None:
        from privacy.planted import write_sets

        written = write_sets(generate_dir, count)
        click.echo(f"planted set written: {json.dumps(written)}", err=True)
        messages = messages or Path(written[part]["messages"])
        truth = truth or Path(written[part]["truth"])
    if messages is None or truth is None:
        raise click.UsageError("give --messages and --truth, or --generate DIR")
    try:
        items = load_set(messages, truth)
    except (OSError, ValueError, KeyError) as exc:
        raise click.ClickException(f"cannot read the evaluation set: {exc}") from exc
    engine = _engine()

    def detect(text):
        return [(e.start, e.end, e.kind) for e in engine.analyze(text)]

    click.echo(f"scoring {len(items)} messages from {messages}", err=True)
    result = {"set": str(messages), "engine": score(items, detect)}
    if real_controls is not None:
        result["real_controls"] = _real_controls(real_controls, real_n, engine)
    if show_misses:
        for m in misses(items, detect, show_misses):
            click.echo(json.dumps(m, ensure_ascii=False), err=True)
    if baseline == "presidio-default":
        from privacy.baseline import PresidioDefault

        click.echo("scoring Presidio's default recognisers", err=True)
        result["presidio_default"] = score(items, PresidioDefault().detect)
    sys.stderr.flush()
    click.echo(json.dumps(result, ensure_ascii=False))
