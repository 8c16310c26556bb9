#!/usr/bin/env python3
"""The bilingual (English + Chinese) intent evaluation sets, from Banking77's split and the Chinese files.

Outputs (deterministic, rewritten only when changed):
  var/eval/bilingual/train.csv  var/eval/banking77/train.csv + the Chinese training examples (data/nlu/zh.yml)
  var/eval/bilingual/test.csv   var/eval/banking77/test.csv + the Chinese held-out questions of both sets
                                (data/eval/zh/intents_test.csv and intents_test_b.csv: hand-written apart from
                                the training examples, never trained or tuned on; set B was written after set A
                                had been scored, before the per-language design was chosen by CV on training
                                data; `supportbot eval intents --part FILE` scores each set on its own)
  var/eval/bilingual/kb_corpus.jsonl   every demo KB article, English (data/kb/*.md) and Chinese (data/kb_zh/*.md,
                                ids `zh/NAME.md`)
  var/eval/bilingual/kb_zh_queries.jsonl  the Chinese held-out questions whose intent has a Chinese article, each
                                with that article as the relevant one (the questions were written before the
                                Chinese articles, so independently of them); for reporting only
  var/eval/bilingual/kb_zh_dev_queries.jsonl  the Chinese KB dev questions (data/eval/zh/kb_dev.csv: 140, seven per
                                Chinese article, the last two of each a customer's situation rather than a topic, written
                                fresh after the held-out set and apart from it); every
                                retrieval setting for Chinese is chosen on these, never on the held-out ones
One `supportbot eval intents --train var/eval/bilingual/train.csv --test var/eval/bilingual/test.csv` then
reports both languages (its `by_language` key); `supportbot eval retrieval --corpus .../kb_corpus.jsonl
--queries .../kb_zh_queries.jsonl` the Chinese KB. Run data/prepare/banking77.py first.

Standard library plus PyYAML only:  .venv/bin/python data/prepare/bilingual.py
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BANKING77 = ROOT / "var" / "eval" / "banking77"
ZH_TRAIN = ROOT / "data" / "nlu" / "zh.yml"
ZH_TEST = ROOT / "data" / "eval" / "zh" / "intents_test.csv"
ZH_KB_DEV = ROOT / "data" / "eval" / "zh" / "kb_dev.csv"
ZH_TEST_B = ROOT / "data" / "eval" / "zh" / "intents_test_b.csv"
KB = ROOT / "data" / "kb"
KB_ZH = ROOT / "data" / "kb_zh"  # not under data/kb: an English-only (MiniLM) index never ingests it
OUT = ROOT / "var" / "eval" / "bilingual"


def read_csv(path: Path, label: str = "intent") -> list[tuple[str, str]]:
    if not path.is_file():
        sys.exit(f"{path} is missing: run `.venv/bin/python data/prepare/banking77.py` first")
    with path.open(newline="", encoding="utf-8") as fh:
        return [(r["text"], r[label]) for r in csv.DictReader(fh)]


def read_yaml(path: Path) -> list[tuple[str, str]]:
    rows = []
    for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
        rows += [(line.strip()[2:], block["intent"]) for line in block["examples"].splitlines()
                 if line.strip().startswith("- ")]
    return rows


def csv_text(rows: list[tuple[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["text", "intent"])
    writer.writerows(rows)
    return buf.getvalue()


def kb_article(path: Path, prefix: str = "") -> dict:
    """{"id", "title", "text", "url"[, "questions"]} of a markdown article with YAML front matter (id: `prefix` + file
    name)."""
    raw = path.read_text(encoding="utf-8")
    _, front, body = raw.split("---", 2)
    meta = yaml.safe_load(front) or {}
    record = {"id": prefix + path.name, "title": str(meta.get("title", "")), "text": body.strip(),
              "url": str(meta.get("url", ""))}
    if meta.get("questions"):  # the article's example questions (docs/retrieval.md), as the KB ingests them
        record["questions"] = [str(q) for q in meta["questions"]]
    return record


def kb_files() -> tuple[str, str, str]:
    """The corpus JSONL, the Chinese held-out queries JSONL and the Chinese dev queries JSONL."""
    articles = [kb_article(p) for p in sorted(KB.glob("*.md"))] + [kb_article(p, "zh/") for p in sorted(KB_ZH.glob("*.md"))]
    chinese = {a["id"].split("/", 1)[1][:-3].lower() for a in articles if a["id"].startswith("zh/")}
    queries = [{"query": text, "relevant_ids": [f"zh/{intent.lower()}.md"]}
               for text, intent in read_csv(ZH_TEST) if intent.lower() in chinese]
    dev = [{"query": text, "relevant_ids": [f"zh/{topic}.md"]} for text, topic in read_csv(ZH_KB_DEV, "topic")]
    if any(q["relevant_ids"][0][3:-3] not in chinese for q in dev):
        sys.exit(f"{ZH_KB_DEV} names a topic without a Chinese article in {KB_ZH}")
    lines = lambda rows: "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)  # noqa: E731
    return lines(articles), lines(queries), lines(dev)


def main() -> int:
    files = {OUT / "train.csv": read_csv(BANKING77 / "train.csv") + read_yaml(ZH_TRAIN),
             OUT / "test.csv": read_csv(BANKING77 / "test.csv") + read_csv(ZH_TEST) + read_csv(ZH_TEST_B)}
    OUT.mkdir(parents=True, exist_ok=True)
    corpus, queries, dev = kb_files()
    texts = {path: csv_text(rows) for path, rows in files.items()}
    texts |= {OUT / "kb_corpus.jsonl": corpus, OUT / "kb_zh_queries.jsonl": queries,
              OUT / "kb_zh_dev_queries.jsonl": dev}
    for path, text in texts.items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    print(json.dumps({p.name: t.count("\n") - (p.suffix == ".csv") for p, t in texts.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
