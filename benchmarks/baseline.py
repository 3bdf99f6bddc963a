"""An earlier revision of jwm, importable beside the working one, for before/after
timings in one process.

``baseline_package("HEAD~2")`` extracts that revision's ``src/jwm`` with ``git archive``
into a temporary folder as the package ``jwm_baseline`` (its own imports of ``jwm``
rewritten to it), puts the folder on ``sys.path`` and returns the package name. Both
versions then run round-robin in one schedule, so the machine's load drifts hit them
alike: back-to-back runs of a benchmark on a shared 2-core machine differ by more than
the changes being measured.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

__all__ = ["baseline_package"]

ROOT = Path(__file__).resolve().parent.parent
NAME = "jwm_baseline"

# ``from jwm.x import y`` / ``from jwm import y``, ``import jwm``, and module paths
# written as strings ("jwm.agents") for importlib.
_REWRITES = ((re.compile(r"\bfrom jwm([. ])"), rf"from {NAME}\1"),
             (re.compile(r"\bimport jwm\b(?!_)"), f"import {NAME} as jwm"),
             (re.compile(r"([\"'])jwm\."), rf"\1{NAME}."))


def baseline_package(revision: str) -> str:
    """Makes ``revision``'s jwm importable as ``jwm_baseline``; returns that name.

    Raises:
      ValueError: ``revision`` is not a commit of this repository.
    """
    done = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "src/jwm"],
                          capture_output=True)
    if done.returncode != 0:
        raise ValueError(f"baseline_package: revision {revision!r}: "
                         f"{done.stderr.decode().strip()}")
    folder = Path(tempfile.mkdtemp(prefix="jwm_baseline_"))
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(folder, filter="data")
    package = folder / NAME
    os.rename(folder / "src" / "jwm", package)
    for path in package.rglob("*.py"):
        text = path.read_text()
        for pattern, replacement in _REWRITES:
            text = pattern.sub(replacement, text)
        path.write_text(text)
    sys.path.insert(0, str(folder))
    return NAME
