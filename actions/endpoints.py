"""Writing an endpoints.yml for a Rasa server whose action server is not at the default URL.

`supportbot up` and the contract tests start the action server on a chosen port; Rasa reads the
action URL from its endpoints file, so they write a copy of the project's endpoints.yml with the
URL replaced (everything else in the file is kept).
"""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def write_endpoints(dest: Path, action_url: str, base: Path = ROOT / "endpoints.yml") -> Path:
    """Write `base` with `action_endpoint.url = action_url` to `dest`; returns `dest`."""
    config = yaml.safe_load(Path(base).read_text(encoding="utf-8")) or {}
    config.setdefault("action_endpoint", {})["url"] = action_url
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return dest
