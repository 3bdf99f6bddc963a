"""Reading the result JSON: where the files live, loading them (a missing or half-written
file reads as None), digging into nested records and the seed statistics that several
sections share."""

from __future__ import annotations

import glob
import json
import os
from typing import NamedTuple

# experiments/results_page/records.py -> the repository root.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXP = "experiments/results"
BENCH = "benchmarks/results"
# Result folders whose top-level JSON files must all appear on the page.
RESULT_DIRS = (EXP, BENCH)


def load(path: str, root: str = ROOT):
    """The record at ``path`` (relative to ``root``), or None if absent or unreadable."""
    try:
        with open(os.path.join(root, path)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None  # absent or being rewritten: the section says so instead


def dig(record, *keys, default=None):
    for k in keys:
        if isinstance(record, dict) and k in record:
            record = record[k]
        elif isinstance(record, list) and isinstance(k, int) and -len(record) <= k < len(record):
            record = record[k]
        else:
            return default
    return record


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def seed_means(record, key="eval_returns"):
    """The seed-mean at every evaluation point."""
    curves = record.get(key) or []
    return [mean(col) for col in zip(*curves)] if curves else []


def first_at_least(values, threshold):
    for i, v in enumerate(values):
        if v is not None and v >= threshold:
            return i
    return None


def provenance(record) -> str:
    """Device and versions as the JSON records them (experiments and benchmarks differ)."""
    dev = record.get("device")
    parts = []
    if isinstance(dev, dict):
        desc = dev.get("description") or dev.get("platform")
        cores = dev.get("cpu_count")
        parts.append(f"device {desc}" + (f", {cores} CPUs" if cores else ""))
        jax_v, jwm_v = dev.get("jax_version"), dev.get("jwm_version")
    else:
        if dev:
            parts.append(f"device {dev}")
        jax_v, jwm_v = record.get("jax") or record.get("jax_version"), record.get("jwm_version")
    parts.append(f"jax {jax_v}" if jax_v else "jax version not recorded")
    parts.append(f"jwm {jwm_v}" if jwm_v else "jwm version not recorded")
    when = record.get("timestamp") or record.get("date")
    if when:
        parts.append(str(when)[:10])
    return "; ".join(parts)


class Ctx(NamedTuple):
    """What a renderer gets: the section's files (repo-relative paths) and records."""
    files: list
    records: dict

    def get(self, name: str, folder: str = EXP):
        return self.records.get(f"{folder}/{name}")

    def matching(self, suffix_glob: str, folder: str = EXP):
        pattern = f"{folder}/{suffix_glob}"
        return [(p, self.records[p]) for p in self.files
                if glob.fnmatch.fnmatch(p, pattern) and self.records.get(p) is not None]

