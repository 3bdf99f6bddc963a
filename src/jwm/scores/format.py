"""Score files: one evaluation of one seed per JSON line, readable without jwm.

Format ``jwm.scores/1`` (a ``.jsonl`` file, UTF-8, one JSON object per line; every
line carries every field, so a file can be concatenated, filtered with ``grep`` or
read with ``pandas.read_json(path, lines=True)``):

=============  ==========================================================================
field          meaning
=============  ==========================================================================
schema         ``"jwm.scores/1"``
agent          the agent's name (``pets``, ``dreamer``, ``ppo``, ...)
env            the environment as `jwm.envs.make` names it (``gymnax:CartPole-v1``)
seed           the seed's index in the run: its key is ``jax.random.split(key, seeds)
               [seed]`` of the run's base key
env_steps      env steps consumed when the evaluation was taken (int, prefill included)
eval_return    mean undiscounted evaluation return (float; null when non-finite)
wall_time_s    seconds of the run up to this evaluation, compilation included, summed
               over the sessions of a resumed run (null when not measured)
device         the device it ran on (`jwm.device.device_name`), or null
jwm, jax       the versions that produced it (null for imported scores)
config_hash    the first 16 hex digits of SHA-256 of the run's settings as canonical
               JSON (`config_hash`); equal hashes mean equal settings
suite, cell    the suite file's name and the cell's id, or null outside a suite
source         ``"jwm"``, or the project an imported score comes from
=============  ==========================================================================
"""

from __future__ import annotations

import hashlib
import json
import math
import os

from jwm.atomic import write_text

__all__ = ["FIELDS", "SCHEMA", "config_hash", "read_scores", "score_row", "write_scores"]

SCHEMA = "jwm.scores/1"
FIELDS = ("schema", "agent", "env", "seed", "env_steps", "eval_return", "wall_time_s",
          "device", "jwm", "jax", "config_hash", "suite", "cell", "source")


def config_hash(config) -> str:
    """16 hex digits of SHA-256 of ``config`` as canonical JSON (sorted keys)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _finite(value):
    value = None if value is None else float(value)
    return value if value is not None and math.isfinite(value) else None


def score_row(*, agent: str, env: str, seed: int, env_steps: int, eval_return,
              wall_time_s=None, device=None, jwm=None, jax=None, config_hash=None,
              suite=None, cell=None, source: str = "jwm") -> dict:
    """One score line as a dict, its fields in `FIELDS` order (a non-finite return
    is recorded as null: JSON has no NaN)."""
    return {"schema": SCHEMA, "agent": str(agent), "env": str(env), "seed": int(seed),
            "env_steps": int(env_steps), "eval_return": _finite(eval_return),
            "wall_time_s": _finite(wall_time_s), "device": device, "jwm": jwm, "jax": jax,
            "config_hash": config_hash, "suite": suite, "cell": cell, "source": source}


def write_scores(path: str | os.PathLike, rows) -> None:
    """Writes ``rows`` (dicts of `score_row`) to ``path`` atomically: a reader, or a
    run killed while writing, sees the previous file or this one whole."""
    rows = list(rows)
    for i, row in enumerate(rows):
        if row.get("schema") != SCHEMA or set(row) != set(FIELDS):
            raise ValueError(f"write_scores: row {i} is not a {SCHEMA} row (build it with "
                             f"score_row): {row!r}")
    write_text(os.fspath(path), "".join(json.dumps(r) + "\n" for r in rows))


def read_scores(*paths) -> list[dict]:
    """The rows of one or more score files (or folders, read for ``*.jsonl``), in file
    order.

    Raises:
      ValueError: a missing path, a line that is not JSON, or a row of another schema
        (named with its file and line).
    """
    files: list[str] = []
    for path in paths:
        path = os.fspath(path)
        if os.path.isdir(path):
            files += sorted(os.path.join(root, name) for root, _, names in os.walk(path)
                            for name in names if name.endswith(".jsonl"))
        elif os.path.isfile(path):
            files.append(path)
        else:
            raise ValueError(f"read_scores: {path!r} is neither a score file nor a folder")
    rows = []
    for file in sorted(set(files), key=files.index):
        with open(file) as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f"read_scores: {file}:{number} is not JSON ({e})") from None
                if not isinstance(row, dict) or row.get("schema") != SCHEMA:
                    raise ValueError(f"read_scores: {file}:{number} is not a {SCHEMA} row")
                rows.append(row)
    return rows
