"""Reading learning curves: when a curve reaches a return threshold (sample efficiency),
for one seed or many. Used by the results of `jwm.train`, sweeps, baselines and
experiments alike."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["steps_to_threshold"]


def _first_step(steps: np.ndarray, reached: np.ndarray):
    """The env steps at the first True of ``reached`` (any leading axes), NaN if none."""
    first = np.argmax(reached, axis=-1)
    return np.where(reached.any(-1), steps[first], np.nan)


def steps_to_threshold(env_steps, eval_returns, threshold: float) -> dict:
    """When a learning curve first reaches ``threshold``.

    Args:
      env_steps: [P] increasing env steps of the evaluation points.
      eval_returns: [S, P] evaluation return of each seed at each point.
      threshold: the return to reach (``>=``).

    Returns a dict:
      ``mean_steps``: env steps at which the seed-mean return first reaches the threshold;
      ``mean_sustained_steps``: from which it stays there to the last point;
      ``seed_steps`` [S]: each seed's first reaching step; ``seeds_reaching``;
      ``median_seed_steps``: the median over all seeds of ``seed_steps``, a seed that
      never reaches counting as infinitely late (so it is None when half or more never
      reach); ``best_mean`` / ``final_mean``: the seed-mean curve's best and last value.
      "Never" is None. A point counts only if its value is finite: a NaN or inf return
      never reaches the threshold, and a NaN seed makes that point's mean NaN.
    """
    steps = np.asarray(env_steps, np.float64)
    returns = np.asarray(eval_returns, np.float64)
    if steps.ndim != 1 or steps.size == 0:
        raise ValueError(f"env_steps must be a non-empty 1-D sequence, got shape {steps.shape}")
    if np.any(np.diff(steps) <= 0):
        raise ValueError("env_steps must be strictly increasing")
    if returns.ndim != 2 or returns.shape[0] == 0 or returns.shape[1] != steps.size:
        raise ValueError(f"eval_returns must be [seeds, {steps.size}] with seeds >= 1, "
                         f"got shape {returns.shape}")
    if not np.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold!r}")
    mean = returns.mean(0)
    per_seed = _first_step(steps, np.isfinite(returns) & (returns >= threshold))
    median = float(np.median(np.where(np.isnan(per_seed), np.inf, per_seed)))
    above = np.isfinite(mean) & (mean >= threshold)
    mean_steps = _first_step(steps, above)
    # The first point from which the mean stays at or above the threshold to the end:
    # a reversed cumulative AND over the points.
    stays = np.flip(np.logical_and.accumulate(np.flip(above)))
    sustained_steps = _first_step(steps, stays)
    finite = mean[np.isfinite(mean)]

    def number(x):
        return None if not math.isfinite(x) else (int(x) if float(x).is_integer() else float(x))

    return {
        "threshold": float(threshold),
        "mean_steps": number(float(mean_steps)),
        "mean_sustained_steps": number(float(sustained_steps)),
        "seed_steps": [number(float(s)) for s in per_seed],
        "seeds_reaching": int(np.sum(~np.isnan(per_seed))),
        "seeds": int(returns.shape[0]),
        "median_seed_steps": number(median),
        "best_mean": float(finite.max()) if finite.size else None,
        "final_mean": float(mean[-1]) if np.isfinite(mean[-1]) else None,
    }
