"""Build the retrieval evaluation set: Banking77 questions against the demo bank's KB articles.

    .venv/bin/python -m bench.retrieval_eval_set [--per-intent 10] [--out var/eval/retrieval]
    .venv/bin/supportbot eval retrieval --corpus var/eval/retrieval/corpus.jsonl \
        --queries var/eval/retrieval/queries.jsonl

Corpus: one record per article in data/kb/ (`{"id": <file stem = intent>, "title", "text", "url"}`,
front matter stripped). Queries: Banking77 customer questions whose intent has an article, taken
only from the *held-out* 20 % split that data/prepare/banking77.py makes (same seed, same
function), so nothing here was seen while building or tuning the NLU or retrieval settings;
`--per-intent` of them per intent, chosen by a seeded shuffle. Relevant id: the article of the
question's intent. `dev_queries.jsonl` is drawn the same way from the *training* part: tune
settings (e.g. SUPPORTBOT_BM25_WEIGHT) on it, report on `queries.jsonl`. Deterministic: same inputs,
same files.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

from retrieval.documents import read_markdown

ROOT = Path(__file__).resolve().parent.parent
SEED = 4


def _banking77_prepare():
    """The NLU data script, imported by path (it is a standalone script, not a package)."""
    path = ROOT / "data" / "prepare" / "banking77.py"
    spec = importlib.util.spec_from_file_location("banking77_prepare", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def corpus_records(kb_dir: Path) -> list[dict]:
    records = []
    for path in sorted(kb_dir.glob("*.md")):
        doc = read_markdown(path.read_text(encoding="utf-8"), path.stem)[0]
        records.append({"id": path.stem, "title": doc.title, "text": doc.text, "url": doc.url})
    if not records:
        raise SystemExit(f"no markdown articles in {kb_dir}: the demo KB (data/kb/) is missing")
    return records


def _key(intent: str) -> str:
    return "".join(c for c in intent.lower() if c.isalnum() or c == "_")


def held_out_queries(datasets_dir: Path, intents: set[str], per_intent: int, seed: int = SEED,
                     split: str = "test") -> list[dict]:
    """Questions from the held-out `test` split, or from the `dev` (= NLU training) split for tuning."""
    b77 = _banking77_prepare()
    rows = b77.read_banking77(datasets_dir / "banking77" / "train.csv")
    train, test = b77.stratified_split(rows, b77.TEST_FRACTION, b77.SEED)
    test = test if split == "test" else train
    article = {_key(i): i for i in intents}  # Banking77 spells two intents differently from file names
    by_intent: dict[str, list[str]] = defaultdict(list)
    for text, intent in test:
        if _key(intent) in article:
            by_intent[article[_key(intent)]].append(text)
    queries = []
    for intent in sorted(by_intent):
        texts = sorted(by_intent[intent])
        random.Random(f"{seed}:{intent}").shuffle(texts)
        queries += [{"query": t, "relevant_ids": [intent]} for t in texts[:per_intent]]
    return queries


def write_jsonl(path: Path, records: list[dict]) -> str:
    text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records)
    path.write_text(text, encoding="utf-8")
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def prepare(out: Path, kb_dir: Path, datasets_dir: Path, per_intent: int, seed: int = SEED) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    corpus = corpus_records(kb_dir)
    ids = {r["id"] for r in corpus}
    queries = held_out_queries(datasets_dir, ids, per_intent, seed)
    dev = held_out_queries(datasets_dir, ids, per_intent, seed, split="dev")
    manifest = {
        "built_by": "python -m bench.retrieval_eval_set", "seed": seed, "per_intent": per_intent,
        "split": "data/prepare/banking77.py stratified_split: queries from the held-out part, "
                 "dev_queries (for tuning settings) from the training part",
        "corpus": {"path": str(out / "corpus.jsonl"), "documents": len(corpus),
                   "fingerprint": write_jsonl(out / "corpus.jsonl", corpus)},
        "queries": {"path": str(out / "queries.jsonl"), "count": len(queries),
                    "fingerprint": write_jsonl(out / "queries.jsonl", queries)},
        "dev_queries": {"path": str(out / "dev_queries.jsonl"), "count": len(dev),
                        "fingerprint": write_jsonl(out / "dev_queries.jsonl", dev)},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def main(argv: list[str] | None = None) -> int:
    b77 = _banking77_prepare()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "eval" / "retrieval")
    parser.add_argument("--kb-dir", type=Path, default=ROOT / "data" / "kb")
    parser.add_argument("--datasets-dir", help="default ../shared/datasets or SUPPORTBOT_DATASETS_DIR")
    parser.add_argument("--per-intent", type=int, default=10)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    manifest = prepare(args.out, args.kb_dir, b77.datasets_dir(args.datasets_dir), args.per_intent, args.seed)
    print(json.dumps(manifest, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
