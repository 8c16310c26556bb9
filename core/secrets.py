"""Secrets the platform generates for itself: made once, kept under var/ with mode 0600, reused after.

A configured value (a setting, e.g. from docker-compose's environment) always wins; otherwise the
first process that needs the secret writes 256 random bits atomically (temp file + rename, created
0600 before anything is written into it), and every later process, including Rasa's and the
action server's, reads the same file. Rotating one: delete the file (or change the setting) and
restart everything (docs/security.md).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def stored_secret(var_dir: Path | str, name: str, configured: str = "") -> str:
    if configured:
        return configured
    path = Path(var_dir) / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # never replaces a secret another process wrote meanwhile
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def rasa_token(settings) -> str:
    """The token of Rasa's HTTP API (`rasa run --auth-token`)."""
    return stored_secret(settings.var_dir, "rasa_token", settings.rasa_token)


def action_token(settings) -> str:
    """The token Rasa sends the action server."""
    return stored_secret(settings.var_dir, "action_token", settings.action_token)
