#!/usr/bin/env python3
"""The bilingual (English + Chinese) intent evaluation sets, from Banking77's split and the Chinese files.

Outputs (deterministic, rewritten only when changed):
  var/eval/bilingual/train.csv  var/eval/banking77/train.csv + the Chinese training examples (data/nlu/zh.yml)
  var/eval/bilingual/test.csv   var/eval/banking77/test.csv + the Chinese held-out questions
                                (data/eval/zh/intents_test.csv: hand-written apart from the training examples,
                                never trained or tuned on)
One `supportbot eval intents --train var/eval/bilingual/train.csv --test var/eval/bilingual/test.csv` then
reports both languages (its `by_language` key). Run data/prepare/banking77.py first.

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
OUT = ROOT / "var" / "eval" / "bilingual"


def read_csv(path: Path) -> list[tuple[str, str]]:
    if not path.is_file():
        sys.exit(f"{path} is missing: run `.venv/bin/python data/prepare/banking77.py` first")
    with path.open(newline="", encoding="utf-8") as fh:
        return [(r["text"], r["intent"]) for r in csv.DictReader(fh)]


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


def main() -> int:
    files = {OUT / "train.csv": read_csv(BANKING77 / "train.csv") + read_yaml(ZH_TRAIN),
             OUT / "test.csv": read_csv(BANKING77 / "test.csv") + read_csv(ZH_TEST)}
    OUT.mkdir(parents=True, exist_ok=True)
    for path, rows in files.items():
        text = csv_text(rows)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    print(json.dumps({p.name: len(r) for p, r in files.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
