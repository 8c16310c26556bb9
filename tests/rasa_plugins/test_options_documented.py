"""Every option of the intent classifier (its `get_default_config`) is named in docs/nlu.md.

Read from the source with `ast` (Rasa itself lives in the other Python), so a new option without a line in
the docs fails here."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def default_options(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "get_default_config":
            returned = next(n.value for n in ast.walk(node) if isinstance(n, ast.Return))
            return [k.value for k in returned.keys]
    raise AssertionError(f"no get_default_config in {path}")


def test_every_intent_classifier_option_is_documented():
    options = default_options(ROOT / "rasa_plugins" / "intent_classifier.py")
    docs = (ROOT / "docs" / "nlu.md").read_text(encoding="utf-8")
    assert {"kernel_weight", "min_oos_recall", "expected_oos_share"} <= set(options)
    assert [o for o in options if f"`{o}`" not in docs] == []
