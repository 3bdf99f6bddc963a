"""Files written atomically: a reader (or a run killed mid-write) sees the old file or
the new one, never half of one."""

from __future__ import annotations

import json
import os

__all__ = ["write_json", "write_text"]


def write_text(path: str, text: str) -> None:
    """Writes ``text`` to ``path`` atomically: a temporary file beside it, flushed to
    disk, then renamed over it (a SIGKILL or power loss leaves the old file whole)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json(path: str, record: dict) -> None:
    """Writes ``record`` to ``path`` atomically (a temporary file, then a rename)."""
    write_text(path, json.dumps(record, indent=2))
