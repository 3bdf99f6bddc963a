"""Learning curves out of score rows: each (agent, env) as returns ``[seeds, points]``
on one grid of env steps."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Curve", "curves", "return_at"]


class Curve(NamedTuple):
    """The evaluations of one agent on one env.

    Attributes:
      agent, env: as in the score rows.
      env_steps: ``[P]`` int, the union of the seeds' evaluation points, increasing.
      returns: ``[S, P]`` float64, each seed's latest evaluation at or before each
        point (NaN before its first, or where the return was not finite).
      seeds: ``[S]`` the seeds' indices.
      wall_time_s: ``[S]`` each seed's last recorded wall time (NaN when none).
    """

    agent: str
    env: str
    env_steps: np.ndarray
    returns: np.ndarray
    seeds: list
    wall_time_s: np.ndarray


def _held(steps: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """``values`` (at increasing ``steps``) held from each step to the next, read at
    ``grid``; NaN before the first step."""
    index = np.searchsorted(steps, grid, side="right") - 1
    return np.where(index >= 0, values[np.maximum(index, 0)], np.nan)


def curves(rows) -> dict[tuple[str, str], Curve]:
    """``{(agent, env): Curve}`` of score rows (several runs of one (agent, env, seed)
    are not told apart: give the rows of one run per seed)."""
    runs: dict = {}
    for row in rows:
        ret = row["eval_return"]
        runs.setdefault((row["agent"], row["env"]), {}).setdefault(row["seed"], []).append(
            (row["env_steps"], np.nan if ret is None else ret,
             np.nan if row.get("wall_time_s") is None else row["wall_time_s"]))
    out = {}
    for (agent, env), by_seed in sorted(runs.items()):
        seeds = sorted(by_seed)
        grid = np.unique(np.concatenate([[p[0] for p in by_seed[s]] for s in seeds]))
        returns, walls = [], []
        for s in seeds:
            points = sorted(by_seed[s], key=lambda p: p[0])
            steps = np.array([p[0] for p in points])
            returns.append(_held(steps, np.array([p[1] for p in points], np.float64), grid))
            walls.append(points[-1][2])
        out[(agent, env)] = Curve(agent, env, grid.astype(int), np.stack(returns), seeds,
                                  np.asarray(walls, np.float64))
    return out


def return_at(curve: Curve, budget: int) -> np.ndarray:
    """``[S]`` each seed's latest evaluation at or before ``budget`` env steps (NaN
    if it has none: a run that has not got that far, or whose first evaluation comes
    after the budget)."""
    index = np.searchsorted(curve.env_steps, budget, side="right") - 1
    if budget > curve.env_steps[-1] or index < 0:
        return np.full(len(curve.seeds), np.nan)
    return curve.returns[:, index]
