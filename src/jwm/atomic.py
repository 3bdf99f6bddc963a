"""Files written atomically: a reader (or a run killed mid-write) sees the old file or
the new one, never half of one."""

from __future__ import annotations

import json
import os

__all__ = ["write_json"]


def write_json(path: str, record: dict) -> None:
    """Writes ``record`` to ``path`` atomically (a temporary file, then a rename)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(record, f, indent=2)
    os.replace(tmp, path)
