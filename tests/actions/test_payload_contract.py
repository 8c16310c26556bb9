"""Every field the actions write into the `supportbot` custom payload is documented.

The fields are read from the actions' source (the keywords of every `annotate(...)` and
`payload(...)` call, the dict `payload()` builds, the source and version entries), not from a hand-kept list, so a field added in code but
not to the table in docs/architecture.md ("The action → service payload") fails here. A row for a
field no code writes fails too.
"""

from __future__ import annotations

import ast
import re

from core.settings import ROOT

ACTIONS = ROOT / "actions"
DOC = ROOT / "docs" / "architecture.md"
HEADING = "## The action → service payload"


def documented() -> set[str]:
    text = DOC.read_text()
    assert HEADING in text, f"{DOC} lost its section {HEADING!r}"
    section = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([^`]+)` \|", section, flags=re.M))


def _function(tree: ast.Module, name: str) -> ast.FunctionDef:
    found = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name]
    assert len(found) == 1, f"expected one function {name}()"
    return found[0]


def _fields(value: ast.expr, path: str) -> set[str]:
    """Paths of the keys under `value`: dict literals, dict comprehensions over a tuple, lists of dicts."""
    out: set[str] = set()
    if isinstance(value, ast.Dict):
        for key, sub in zip(value.keys, value.values):
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                out |= {f"{path}.{key.value}"} | _fields(sub, f"{path}.{key.value}")
    elif isinstance(value, ast.DictComp):
        for gen in value.generators:
            if isinstance(gen.iter, ast.Tuple):
                out |= {f"{path}.{e.value}" for e in gen.iter.elts if isinstance(e, ast.Constant)}
    elif isinstance(value, ast.ListComp):
        out |= _fields(value.elt, f"{path}[]")
    return out


def _returned_dict_keys(fn: ast.FunctionDef) -> set[str]:
    keys: set[str] = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Dict):
            keys |= {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
        if isinstance(node, ast.Return) and isinstance(node.value, ast.IfExp) and isinstance(node.value.body, ast.Dict):
            keys |= {k.value for k in node.value.body.keys if isinstance(k, ast.Constant)}
    return keys


def written() -> set[str]:
    fields: set[str] = set()
    for path in sorted(ACTIONS.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("annotate", "payload"):
                for kw in node.keywords:
                    if kw.arg is not None:
                        fields |= {kw.arg} | _fields(kw.value, kw.arg)
    base = ast.parse((ACTIONS / "base.py").read_text())
    for node in ast.walk(_function(base, "annotate")):  # the fields annotate() itself always sends
        if isinstance(node, ast.Dict) and any(isinstance(k, ast.Constant) and k.value == "supportbot"
                                              for k in node.keys):
            inner = node.values[[k.value for k in node.keys].index("supportbot")]
            fields |= {k.value for k in inner.keys if isinstance(k, ast.Constant)}

    formatting = ast.parse((ACTIONS / "formatting.py").read_text())
    payload = _function(formatting, "payload")
    for node in ast.walk(payload):
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "body":
            for key, sub in zip(node.value.keys, node.value.values):
                fields |= {key.value} | _fields(sub, key.value)
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) and isinstance(node.slice, ast.Constant):
            owner = getattr(node.value, "id", None)
            if owner == "body":
                fields.add(node.slice.value)
            elif owner == "versions":
                fields.add(f"model_versions.{node.slice.value}")
        # body["sources"][0]["passages"] = ...: a field of the first source
        if (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) and isinstance(node.slice, ast.Constant)
                and isinstance(node.value, ast.Subscript) and isinstance(node.value.value, ast.Subscript)
                and getattr(node.value.value.slice, "value", None) == "sources"):
            fields.add(f"sources[].{node.slice.value}")
    for node in ast.walk(_function(formatting, "passages_used")):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.ListComp):
            fields |= _fields(node.value, "sources[].passages")
    for path in sorted(ACTIONS.glob("*.py")):  # `extra = {...}` handed to payload(**extra)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Dict)
                    and "extra" in {getattr(t, "id", None) for t in getattr(node, "targets", [getattr(node, "target", None)])}):
                fields |= {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    fields |= {f"sources[].{k}" for k in _returned_dict_keys(_function(formatting, "source_of"))}
    services = ast.parse((ACTIONS / "services.py").read_text())
    fields |= {f"model_versions.{k}" for k in _returned_dict_keys(_function(services, "model_versions"))}
    return fields


def test_the_parser_finds_the_fields_it_should():
    fields = written()
    # a few that must be found, or the parsing above has gone blind
    assert {"sources", "sources[].url", "candidates[].text", "model_versions.kb_index", "model_versions.responses",
            "nlu.intent", "handoff", "error", "card_block.reference"} <= fields, sorted(fields)


def test_every_written_field_is_documented():
    missing = written() - documented()
    assert not missing, f"add these payload fields to the table in {DOC.relative_to(ROOT)}: {sorted(missing)}"


def test_every_documented_field_is_written():
    stale = documented() - written()
    assert not stale, f"no action writes these documented payload fields; drop their rows: {sorted(stale)}"
