"""The package layout's rules: `core` imports no other package of ours, and what Rasa loads
(`rasa_plugins`) imports neither torch, the bot service nor `core` (Rasa's runtime lacks them)."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from tests.support import ROOT

OURS = {"core", "bot", "actions", "retrieval", "finetune", "nlu", "privacy", "rasa_plugins", "bench"}


def imported_roots(package: str) -> dict[str, set[str]]:
    """Top-level names each module of `package` imports, anywhere in the module (lazy imports included)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        roots: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = roots
    return found


def test_core_imports_no_other_package_of_ours():
    offenders = {m: sorted(r & (OURS - {"core"})) for m, r in imported_roots("core").items() if r & (OURS - {"core"})}
    assert offenders == {}


@pytest.mark.parametrize("forbidden", ["torch", "sentence_transformers", "bot", "core", "actions", "finetune",
                                       "retrieval", "pydantic_settings"])
def test_rasa_plugins_import_nothing_rasa_cannot_load(forbidden):
    offenders = sorted(m for m, r in imported_roots("rasa_plugins").items() if forbidden in r)
    assert offenders == []


def test_importing_core_loads_none_of_the_other_packages():
    code = ("import sys, core, core.settings, core.paths, core.store.db, core.store.models, core.store.statements; "
            f"print(sorted(n for n in sys.modules if n.split('.')[0] in {sorted(OURS - {'core'})!r}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_library_imports_the_benchmark_drivers():
    libraries = OURS - {"bench"}
    offenders = {m: "bench" for lib in libraries for m, r in imported_roots(lib).items() if "bench" in r}
    assert offenders == {}
