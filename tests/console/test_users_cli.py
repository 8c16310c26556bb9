"""`supportbot users add|passwd|disable` through the real CLI, against a real SQLite store."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from bot.console.accounts import Accounts
from bot.console.passwords import verify_password
from core.store.db import Database
from core.store.models import User
from tests.support import ROOT

CLI = str(ROOT / ".venv" / "bin" / "supportbot")


def run(env, *args, stdin: str = ""):
    return subprocess.run([CLI, "users", *args], env=env, input=stdin, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_users_add_passwd_disable(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    env = {**os.environ, "SUPPORTBOT_DATABASE_URL": url, "SUPPORTBOT_VAR_DIR": str(tmp_path)}
    done = run(env, "add", "ada", "--role", "admin", "--name", "Ada L.", "--password-stdin",
               stdin="a long enough secret\n")
    assert done.returncode == 0, done.stderr
    db = Database(url)
    with db.session() as s:
        user = s.query(User).filter_by(username="ada").one()
        assert (user.role, user.display_name) == ("admin", "Ada L.")
        assert user.password_hash.startswith("$argon2id$") and "a long enough secret" not in user.password_hash
        assert verify_password(user.password_hash, "a long enough secret")

    assert "already exists" in run(env, "add", "ada", "--password-stdin", stdin="a long enough secret\n").stderr
    weak = run(env, "add", "bob", "--password-stdin", stdin="short\n")
    assert weak.returncode != 0 and "at least 10 characters" in weak.stderr
    assert run(env, "add", "bad name", "--password-stdin", stdin="a long enough secret\n").returncode != 0

    assert run(env, "passwd", "ada", "--password-stdin", stdin="another fine secret\n").returncode == 0
    assert Accounts(db).authenticate("ada", "another fine secret") is not None
    assert Accounts(db).authenticate("ada", "a long enough secret") is None
    missing = run(env, "passwd", "nobody", "--password-stdin", stdin="another fine secret\n")
    assert missing.returncode != 0 and "supportbot users add nobody" in missing.stderr

    assert run(env, "disable", "ada").returncode == 0
    assert Accounts(db).authenticate("ada", "another fine secret") is None
    listed = [json.loads(line) for line in run(env, "list").stdout.splitlines()]
    assert listed[0]["username"] == "ada" and listed[0]["disabled"] is True
    assert run(env, "enable", "ada").returncode == 0
    assert Accounts(db).authenticate("ada", "another fine secret") is not None
    db.dispose()
