"""Split the STAR support logs by conversation into a training file and a held-out file under var/.

    .venv/bin/python data/prepare/star.py            # -> var/datasets/star/{train,heldout}.jsonl
    .venv/bin/python data/prepare/star.py --fraction 0.1 --seed 13
    .venv/bin/python data/prepare/star.py --domain bank   # -> var/datasets/star-bank/: the demo bank's logs

`--domain bank` keeps only the bank-domain conversations (balance enquiries, fraud reports; about
740): the demo bank's own support logs, from which `supportbot train` trains its first dialogue model.

The split hashes (seed, conversation_id), so it is fixed: the held-out conversations are the same on
every machine and are never used for training or tuning. Lines are copied byte for byte (cleaning
and anonymisation happen when the logs are imported), and the source is found at
`../shared/datasets/star/conversations.jsonl` relative to the repository root, or under
$SUPPORTBOT_DATASETS_DIR.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from finetune.pairs import in_holdout  # noqa: E402


def datasets_dir() -> Path:
    return Path(os.environ.get("SUPPORTBOT_DATASETS_DIR") or ROOT.parent / "shared" / "datasets")


def in_domain(raw: bytes, domain: str | None) -> bool:
    """Whether a line is a conversation of `domain` (every line when no domain is asked for)."""
    if domain is None:
        return True
    try:
        return domain in (json.loads(raw).get("domains") or [])
    except (ValueError, AttributeError):
        return False


def prepare(source: Path, out_dir: Path, fraction: float, seed: int, domain: str | None = None) -> dict:
    if not source.is_file():
        raise SystemExit(f"STAR logs not found at {source}: set SUPPORTBOT_DATASETS_DIR to the folder holding star/")
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {"train": 0, "heldout": 0, "unreadable": 0}
    digest = hashlib.sha256()
    with source.open("rb") as src, (out_dir / "train.jsonl").open("wb") as train, \
            (out_dir / "heldout.jsonl").open("wb") as held:
        for lineno, raw in enumerate(src, start=1):
            digest.update(raw)
            if not raw.strip() or not in_domain(raw, domain):
                continue
            try:
                cid = str(json.loads(raw)["conversation_id"])
            except (ValueError, KeyError, TypeError):
                cid = f"line-{lineno}"  # kept in training; the importer reports what is wrong with it
                counts["unreadable"] += 1
            part = "heldout" if in_holdout(cid, fraction, seed) else "train"
            (held if part == "heldout" else train).write(raw if raw.endswith(b"\n") else raw + b"\n")
            counts[part] += 1
    manifest = {
        "built_by": "data/prepare/star.py",
        "source": str(source),
        "source_sha256": digest.hexdigest(),
        "domain": domain,
        "split": {"by": "conversation_id", "heldout_fraction": fraction, "seed": seed},
        "conversations": counts,
        "files": {"train": "train.jsonl", "heldout": "heldout.jsonl"},
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=None, help="conversations.jsonl (default: the shared STAR file)")
    parser.add_argument("--out", type=Path, default=None, help="default var/datasets/star (star-DOMAIN with --domain)")
    parser.add_argument("--domain", default=None, help="keep only conversations of this domain (e.g. bank)")
    parser.add_argument("--fraction", type=float, default=0.1, help="share of conversations held out")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    source = args.source or datasets_dir() / "star" / "conversations.jsonl"
    out = args.out or ROOT / "var" / "datasets" / ("star" + (f"-{args.domain}" if args.domain else ""))
    print(json.dumps(prepare(source, out, args.fraction, args.seed, args.domain)))


if __name__ == "__main__":
    main()
