"""Scores of other projects as `jwm.scores` rows, so that their curves are drawn and
tabulated beside jwm's.

- DreamerV3 (``scores/*.json.gz`` of its repository): a JSON list, optionally gzipped,
  of runs ``{"task", "method", "seed", "xs": [env steps], "ys": [returns]}``.
- TD-MPC2 (``results/<method>/<task>.csv``): one file per task with the columns
  ``step,reward,seed``; the method is the folder's name unless given.

Their task names are theirs (``dmc_walker_walk``, ``walker-walk``); ``env_names`` maps
them onto jwm's where the tasks are the same.
"""

from __future__ import annotations

import csv
import gzip
import json
import os

from jwm.scores.format import score_row

__all__ = ["import_dreamerv3", "import_tdmpc2"]


def _seed(value, where: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: seed {value!r} is not an integer") from None


def import_dreamerv3(path: str | os.PathLike, *, env_names: dict | None = None) -> list[dict]:
    """The runs of a DreamerV3 score file as score rows (``source="dreamerv3"``).

    Raises:
      ValueError: the file is not a JSON list of runs with ``task``, ``method``,
        ``seed``, ``xs`` and ``ys`` of equal lengths.
    """
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rt") as f:
            runs = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"import_dreamerv3: {path!r} is not a readable JSON score file ({e})") from None
    if not isinstance(runs, list):
        raise ValueError(f"import_dreamerv3: {path!r} must hold a list of runs")
    rows = []
    for i, run in enumerate(runs):
        where = f"import_dreamerv3: {path} run {i}"
        missing = {"task", "method", "seed", "xs", "ys"} - set(run if isinstance(run, dict) else ())
        if missing:
            raise ValueError(f"{where} lacks {sorted(missing)}")
        if len(run["xs"]) != len(run["ys"]):
            raise ValueError(f"{where}: xs and ys differ in length")
        env = (env_names or {}).get(run["task"], run["task"])
        rows += [score_row(agent=run["method"], env=env, seed=_seed(run["seed"], where),
                           env_steps=round(float(x)), eval_return=y, source="dreamerv3")
                 for x, y in zip(run["xs"], run["ys"])]
    return rows


def import_tdmpc2(path: str | os.PathLike, *, method: str | None = None,
                  task: str | None = None, env_names: dict | None = None) -> list[dict]:
    """The rows of a TD-MPC2 results CSV as score rows (``source="tdmpc2"``); the
    method defaults to the file's folder name, the task to its file name.

    Raises:
      ValueError: the file lacks the columns ``step``, ``reward`` and ``seed``.
    """
    path = os.fspath(path)
    method = method or os.path.basename(os.path.dirname(os.path.abspath(path))) or "tdmpc2"
    if method == "results":  # the repository's own runs sit in results/ itself
        method = "tdmpc2"
    task = task or os.path.splitext(os.path.basename(path))[0]
    env = (env_names or {}).get(task, task)
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            if not {"step", "reward", "seed"} <= set(reader.fieldnames or ()):
                raise ValueError(f"import_tdmpc2: {path!r} needs the columns step, reward and "
                                 f"seed, has {reader.fieldnames}")
            return [score_row(agent=method, env=env, seed=_seed(line["seed"], path),
                              env_steps=round(float(line["step"])),
                              eval_return=float(line["reward"]), source="tdmpc2")
                    for line in reader]
    except OSError as e:
        raise ValueError(f"import_tdmpc2: {path!r} cannot be read ({e.strerror})") from None
