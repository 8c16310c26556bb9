"""The one error table: every error class of the service and console has its code and status documented.

Walks the real ServiceError subclasses (bot.errors, bot.handoff, the console) and compares each
code and HTTP status with the table in docs/api-errors.md.
"""

from __future__ import annotations

import re

import bot.console.accounts
import bot.console.auth
import bot.console.errors
import bot.console.passwords
import bot.handoff  # noqa: F401 - imported for the error classes they define
from bot.errors import ServiceError, error_body, http_status
from core.settings import ROOT

DOC = ROOT / "docs" / "api-errors.md"


def error_classes(cls: type = ServiceError) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *error_classes(sub)]
    return out


def test_every_error_code_is_documented_with_its_status():
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", DOC.read_text(), flags=re.M))
    classes = error_classes()
    assert len(classes) > 20  # the console's and handoff's errors are there too
    wrong = {f"{c.__module__}.{c.__name__}": (c.code, http_status(c.__new__(c))) for c in classes
             if rows.get(c.code) != str(http_status(c.__new__(c)))}
    assert not wrong, f"document these (code, status) in {DOC.relative_to(ROOT)}: {wrong}"


def test_one_json_shape_for_every_error():
    from bot.console.errors import LoginRequired
    from bot.handoff import AlreadyClaimed

    for exc in (LoginRequired(), AlreadyClaimed("Ann has it."), ValueError("internal detail")):
        body = error_body(exc)
        assert set(body) == {"error", "message", "retry"}
        assert "internal detail" not in body["message"]
