"""Reading the result files: where they live, loading one (a missing or half-written
file reads as None), the provenance line of a record, and the benchmark and study
modules whose own functions read their numbers."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import sys

# experiments/results_page/records.py -> the repository root.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXP = "experiments/results"
BENCH = "benchmarks/results"
SCORES = f"{EXP}/scores"
SUITES = f"{EXP}/suites"
# Result folders whose top-level JSON files must all appear on the page.
RESULT_DIRS = (EXP, BENCH)


def load(path: str, root: str = ROOT):
    """The record at ``path`` (relative to ``root``), or None if absent or unreadable."""
    try:
        with open(os.path.join(root, path)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None  # absent or being rewritten: the section says so instead


def read_text(path: str, root: str = ROOT):
    """The text at ``path`` (relative to ``root``), or None if absent."""
    try:
        with open(os.path.join(root, path)) as f:
            return f.read()
    except OSError:
        return None


@functools.lru_cache(maxsize=None)
def module(folder: str, name: str):
    """``<folder>/<name>.py`` of the repository, imported (once) under a name of its
    own: the benchmark or study script whose functions define its numbers. Its folder
    goes on ``sys.path`` first, as running it as a script would have it."""
    directory = os.path.join(ROOT, folder)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location(f"_results_{folder}_{name}",
                                                  os.path.join(directory, f"{name}.py"))
    found = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(found)
    return found


def provenance(record) -> str:
    """Device and versions as the record holds them: a benchmark's ``device`` dict
    (worded by `benchmarks/common.device_text`), or an experiment's ``device`` string
    with ``jax``."""
    dev = record.get("device")
    if isinstance(dev, dict):
        parts = [f"device {module('benchmarks', 'common').device_text(dev)}"]
        jax_v, jwm_v = dev.get("jax_version"), dev.get("jwm_version")
    else:
        parts = [f"device {dev}"] if dev else []
        jax_v = record.get("jax") or record.get("jax_version")
        jwm_v = record.get("jwm") or record.get("jwm_version")
    parts.append(f"jax {jax_v}" if jax_v else "jax version not recorded")
    parts.append(f"jwm {jwm_v}" if jwm_v else "jwm version not recorded")
    when = record.get("timestamp") or record.get("date")
    if when:
        parts.append(str(when)[:10])
    return "; ".join(parts)
