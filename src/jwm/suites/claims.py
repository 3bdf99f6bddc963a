"""Claims on cells, so that several ``jwm suite`` processes (on one host or on hosts
sharing the output folder) share a tier's cells without running one twice."""

from __future__ import annotations

import contextlib
import json
import os
import socket

__all__ = ["claim"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _stale(path: str) -> bool:
    """A claim left by a process of this host that no longer runs (killed)."""
    try:
        with open(path) as f:
            owner = json.load(f)
    except (OSError, ValueError):
        return False
    return owner.get("host") == socket.gethostname() and not _alive(int(owner.get("pid", -1)))


@contextlib.contextmanager
def claim(path: str):
    """Yields True while this process holds ``path`` (created exclusively), False
    when another live process holds it. A claim of a dead process of this host is
    taken over; the claim is removed on leaving."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            if not _stale(path):
                yield False
                return
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
    else:
        yield False
        return
    with os.fdopen(fd, "w") as f:
        json.dump({"host": socket.gethostname(), "pid": os.getpid()}, f)
    try:
        yield True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
