"""Where things live on disk, for every runtime: the repository root and the shared datasets folder.

Standard library only, so any entry point can resolve a path before settings are read.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATASETS_ENV = "SUPPORTBOT_DATASETS_DIR"


def datasets_dir() -> Path:
    """The folder holding banking77/, star/ and abcd/: $SUPPORTBOT_DATASETS_DIR, else ../shared/datasets."""
    return Path(os.environ.get(DATASETS_ENV) or ROOT.parent / "shared" / "datasets")
