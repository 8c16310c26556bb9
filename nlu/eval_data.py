"""Reading intent-labelled data for `supportbot eval intents`: CSV (`text,intent`) or Rasa NLU YAML.

Kept free of Rasa so the command validates its input in the main runtime and fails with a clear
message before spending minutes starting the Rasa runtime.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

# Rasa's inline entity annotation: [text](entity), [text]{"entity": ...}, [text][{...}]
_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+?)\](\([^)]*\)|\{[^}]*\}|\[[^\]]*\])")


class DataError(ValueError):
    """The file cannot be used; the message says what is wrong and how to fix it."""


def plain_text(example: str) -> str:
    """An example with Rasa's entity annotations removed: "ends in [4821](card_last4)" -> "ends in 4821"."""
    return _ANNOTATION.sub(lambda m: m.group("text"), example).strip()


def read_rows(path: Path) -> list[tuple[str, str]]:
    """(text, intent) pairs from a CSV or Rasa NLU YAML file; raises DataError with a fix."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _read_csv(path)
    elif suffix in (".yml", ".yaml"):
        rows = _read_yaml(path)
    else:
        raise DataError(f"{path}: use a .csv file (columns text,intent) or Rasa NLU YAML (.yml)")
    if not rows:
        raise DataError(f"{path}: no labelled examples found")
    return rows


def _read_csv(path: Path) -> list[tuple[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields = [f.strip() for f in reader.fieldnames or []]
            label = "intent" if "intent" in fields else "category" if "category" in fields else None
            if "text" not in fields or label is None:
                raise DataError(f"{path}: needs a header with the columns text,intent (it has {fields})")
            rows = []
            for line, row in enumerate(reader, start=2):
                text, intent = " ".join((row.get("text") or "").split()), (row.get(label) or "").strip()
                if not text or not intent:
                    raise DataError(f"{path}, line {line}: empty text or intent")
                rows.append((text, intent))
            return rows
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc}); save it as UTF-8 CSV") from exc
    except csv.Error as exc:
        raise DataError(f"{path}: malformed CSV ({exc})") from exc


def _read_yaml(path: Path) -> list[tuple[str, str]]:
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("nlu", []), list):
        raise DataError(f"{path}: expected Rasa NLU YAML with a top-level `nlu:` list")
    rows = []
    for block in doc.get("nlu") or []:
        if not isinstance(block, dict) or "intent" not in block:
            continue  # regex, synonym and lookup blocks
        examples = block.get("examples") or ""
        if not isinstance(examples, str):
            raise DataError(f"{path}: intent {block['intent']!r}: `examples` must be a `|` block of `- text` lines")
        for line in examples.splitlines():
            line = line.strip()
            if line.startswith("- "):
                rows.append((plain_text(line[2:]), str(block["intent"])))
    return rows
