#!/usr/bin/env python3
"""Build the out-of-scope evaluation sets: three small bots in the shape of a new bot, and one large set.

A new bot has 20-60 intents, a few hundred examples, no out-of-scope examples, and about half of its
traffic is out of scope. Each small bot here has that shape; every file is `text,intent` CSV, `oos`
marks an out-of-scope row, and nothing out of scope is ever in a small bot's training file.

  var/eval/oos/<bot>/train.csv  training examples (in-scope only for the small bots)
  var/eval/oos/<bot>/dev.csv    for design choices: in-scope rows not in train + out-of-scope rows
  var/eval/oos/<bot>/test.csv   held out, never tuned on: ~half in scope, ~half out of scope
  var/eval/oos/manifest.json    seeds, sources, counts

Bots (fixed seeds; rows come only from the splits named here):
  bank30   30 Banking77 intents x 12 examples. Out of scope: the other 47 intents, STAR customer turns
           (all domains but bank), the hand-written out-of-scope questions.
  bank50   50 Banking77 intents x 10 examples, out of scope as bank30 (the other 27 intents, ...).
  star20   20 STAR tasks x 20 first requests (STAR's 4 bank/spaceship tasks held out). Out of scope: those
           4 tasks, Banking77 questions, the hand-written off-topic questions.
  large    Banking77 with 15 of its 77 intents relabelled `oos` (train AND test, as in CLINC-style sets),
           plus the bot's 88 `out_of_scope` examples in train and the 160 hand-written test questions.

Where rows come from, so nothing held out leaks: Banking77 rows of `test` come only from
var/eval/banking77/test.csv (the demo's held-out 20 %, data/prepare/banking77.py), those of `train`/`dev`
only from its train.csv; STAR rows of `test` only from conversations data/prepare/star.py holds out
(hash of seed 13, 10 %), the others from its training conversations; hand-written questions of `test` from
data/nlu/eval/out_of_scope_test.txt, of `dev` from out_of_scope_dev.txt.

    .venv/bin/python data/prepare/banking77.py && .venv/bin/python data/prepare/oos_bots.py
"""

from __future__ import annotations

import csv
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from data.prepare.banking77 import EVAL_DIR as BANKING_DIR  # noqa: E402
from data.prepare.banking77 import (  # noqa: E402
    OOS_DEV_SOURCE,
    OOS_TEST_SOURCE,
    OOS_TRAIN_SOURCE,
    clean,
    csv_text,
    datasets_dir,
    read_oos_train,
    read_questions,
    write_if_changed,
)
from finetune.pairs import in_holdout  # noqa: E402

OUT_DIR = ROOT / "var" / "eval" / "oos"
OOS = "oos"
STAR_HOLDOUT = (0.1, 13)  # data/prepare/star.py's split: fraction, seed
STAR_OOS_TASKS = ("bank_balance", "bank_fraud_report", "spaceship_access_codes", "spaceship_life_support")
GREETINGS = {"hi", "hello", "hey", "hi!", "hello!", "hey!", "hello.", "hi.", "hi there", "hello there"}

Row = tuple[str, str]


def read_csv(path: Path) -> list[Row]:
    if not path.is_file():
        raise SystemExit(f"{path} is missing: run `.venv/bin/python data/prepare/banking77.py` first")
    with path.open(newline="", encoding="utf-8") as fh:
        return [(r["text"], r["intent"]) for r in csv.DictReader(fh)]


def star_turns(path: Path) -> dict[str, list[tuple[str, str, bool]]]:
    """{"train"|"heldout": [(task or "", customer text, is_first_request)]} by star.py's conversation split."""
    out: dict[str, list[tuple[str, str, bool]]] = {"train": [], "heldout": []}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            conv = json.loads(line)
            part = "heldout" if in_holdout(str(conv["conversation_id"]), *STAR_HOLDOUT) else "train"
            tasks = [t for t in conv.get("tasks") or [] if t]
            task = tasks[0] if len(tasks) == 1 else ""
            first = True
            for turn in conv.get("turns", []):
                text = clean(turn.get("text") or "")
                if turn.get("speaker") != "customer" or len(text.split()) < 4 or text.lower() in GREETINGS:
                    continue
                out[part].append((task, text, first))
                first = False
    return out


def by_intent(rows: list[Row]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for text, intent in rows:
        grouped[intent].append(text)
    return grouped


def take(rng: random.Random, items: list[str], n: int, used: set[str]) -> list[str]:
    pool = sorted(set(items) - used)
    rng.shuffle(pool)
    chosen = pool[:n]
    used.update(chosen)
    return chosen


def banking_bot(name: str, n_intents: int, per_intent: int, seed: int, b_train: list[Row], b_test: list[Row],
                star: dict, hand_dev: list[str], hand_test: list[str]) -> dict[str, list[Row]]:
    rng = random.Random(f"{name}:{seed}")
    intents = sorted({i for _, i in b_train})
    rng.shuffle(intents)
    inside, outside = sorted(intents[:n_intents]), sorted(intents[n_intents:])
    tr, te = by_intent(b_train), by_intent(b_test)
    used: set[str] = set()
    train = [(t, i) for i in inside for t in take(rng, tr[i], per_intent, used)]
    dev_in = [(t, i) for i in inside for t in take(rng, tr[i], 6, used)]
    test_in = [(t, i) for i in inside for t in take(rng, te[i], 10, used)]

    def oos_rows(n_total: int, banking: dict[str, list[str]], star_part: list, hand: list[str]) -> list[Row]:
        n_bank = n_total // 3
        bank = [t for i in outside for t in banking[i]]
        star_texts = [t for task, t, _ in star_part if not task.startswith("bank")]
        texts = take(rng, bank, n_bank, used) + take(rng, hand, min(len(hand), n_total // 3), used)
        texts += take(rng, star_texts, n_total - len(texts), used)
        return [(t, OOS) for t in texts]

    dev = dev_in + oos_rows(len(dev_in), tr, star["train"], hand_dev)
    test = test_in + oos_rows(len(test_in), te, star["heldout"], hand_test)
    return {"train": train, "dev": dev, "test": test}


def star_bot(seed: int, star: dict, b_train: list[Row], b_test: list[Row], hand_dev: list[str],
             hand_test: list[str], per_intent: int = 20) -> dict[str, list[Row]]:
    rng = random.Random(f"star20:{seed}")
    requests = {part: by_intent([(t, task) for task, t, first in rows if task and first])
                for part, rows in star.items()}
    inside = sorted(set(requests["train"]) - set(STAR_OOS_TASKS))
    used: set[str] = set()
    train = [(t, i) for i in inside for t in take(rng, requests["train"][i], per_intent, used)]
    dev_in = [(t, i) for i in inside for t in take(rng, requests["train"][i], 5, used)]
    test_in = [(t, i) for i in inside for t in take(rng, requests["heldout"][i], 10, used)]

    def oos_rows(n_total: int, part: str, banking: list[Row], hand: list[str]) -> list[Row]:
        held = [t for task in STAR_OOS_TASKS for t in requests[part].get(task, [])]
        off_topic = hand[: len(hand) // 2]  # the first half of each hand-written file is off-topic chat
        texts = take(rng, held, n_total // 3, used) + take(rng, off_topic, n_total // 6, used)
        texts += take(rng, [t for t, _ in banking], n_total - len(texts), used)
        return [(t, OOS) for t in texts]

    dev = dev_in + oos_rows(len(dev_in), "train", b_train, hand_dev)
    test = test_in + oos_rows(len(test_in), "heldout", b_test, hand_test)
    return {"train": train, "dev": dev, "test": test}


def large_set(seed: int, b_train: list[Row], b_test: list[Row], hand_test: list[str]) -> dict[str, list[Row]]:
    rng = random.Random(f"large:{seed}")
    intents = sorted({i for _, i in b_train})
    rng.shuffle(intents)
    held = set(intents[:15])
    relabel = lambda rows: [(t, OOS if i in held else i) for t, i in rows]  # noqa: E731
    train = relabel(b_train) + [(t, OOS) for t in read_oos_train(OOS_TRAIN_SOURCE)]
    return {"train": train, "test": relabel(b_test) + [(t, OOS) for t in hand_test], "oos_intents": sorted(held)}


def prepare(out_dir: Path = OUT_DIR) -> dict:
    b_train, b_test = read_csv(BANKING_DIR / "train.csv"), read_csv(BANKING_DIR / "test.csv")
    star = star_turns(datasets_dir() / "star" / "conversations.jsonl")
    hand_dev, hand_test = read_questions(OOS_DEV_SOURCE), read_questions(OOS_TEST_SOURCE)
    bots = {
        "bank30": banking_bot("bank30", 30, 12, 1, b_train, b_test, star, hand_dev, hand_test),
        "bank50": banking_bot("bank50", 50, 10, 2, b_train, b_test, star, hand_dev, hand_test),
        "star20": star_bot(3, star, b_train, b_test, hand_dev, hand_test),
        "large": large_set(4, b_train, b_test, hand_test),
    }
    counts: dict[str, dict] = {}
    changed = []
    for name, parts in bots.items():
        counts[name] = {}
        for part, rows in parts.items():
            if part == "oos_intents":
                counts[name][part] = rows
                continue
            if write_if_changed(out_dir / name / f"{part}.csv", csv_text(rows)):
                changed.append(f"{name}/{part}.csv")
            n_oos = sum(1 for _, i in rows if i == OOS)
            counts[name][part] = {"rows": len(rows), "oos": n_oos, "intents": len({i for _, i in rows} - {OOS})}
    manifest = {"built_by": "data/prepare/oos_bots.py", "star_holdout": STAR_HOLDOUT,
                "star_oos_tasks": STAR_OOS_TASKS, "counts": counts}
    write_if_changed(out_dir / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest | {"changed": changed}


if __name__ == "__main__":
    print(json.dumps(prepare()))
