"""What a sweep returns: every run's metrics, a tidy table (one row per
configuration, seed and evaluation point) as CSV and JSON lines, and a summary per
configuration over seeds."""

from __future__ import annotations

import csv
import dataclasses
import json
import os

import numpy as np

from jwm.curves import steps_to_threshold
from jwm.training.pytrees import to_json

__all__ = ["SweepResult", "bootstrap_interval"]


def bootstrap_interval(values, *, level: float = 0.95, resamples: int = 10_000,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values [n]`` (NaN when empty;
    both ends equal the value when ``n == 1``)."""
    values = np.asarray(values, np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, (resamples, values.size))].mean(1)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def _first_reaching(env_steps, returns, threshold: float) -> float:
    """The env steps at which one seed's curve first reaches ``threshold``, NaN if
    never (the summary's float form of `jwm.curves.steps_to_threshold`)."""
    first = steps_to_threshold(env_steps, np.asarray(returns)[None], threshold)["seed_steps"][0]
    return float("nan") if first is None else float(first)


@dataclasses.dataclass
class SweepResult:
    """A sweep's runs.

    Attributes:
      configs: the configurations, in the order given.
      seeds: runs per configuration.
      metrics: per configuration, ``{"field/subfield": array [seeds, iterations, ...]}``
        (``env_steps`` and ``eval_return`` among them).
      traced: the names that were traced (vmapped) rather than compiled in.
      num_groups: programs compiled (groups of configurations sharing shapes).
      devices: the devices the runs were sharded over.
      processes: JAX processes that ran the sweep together.
      interrupted: Ctrl-C stopped it (checkpointed; run it again to resume).
      wall_time_s: seconds, compilation included.
    """

    configs: list
    seeds: int
    metrics: list
    traced: tuple
    num_groups: int
    devices: list
    processes: int
    interrupted: bool
    wall_time_s: float

    def rows(self) -> list[dict]:
        """The tidy table: one dict per (configuration, seed, evaluation point) with
        the configuration's values, ``config`` (its index), ``seed``, ``iteration``
        (from 1), ``env_steps``, ``eval_return`` and every other metric that is one
        number per iteration. Configurations not run (interrupted) have no rows."""
        rows = []
        for c, (config, metrics) in enumerate(zip(self.configs, self.metrics)):
            if metrics is None:
                continue
            scalars = {k: v for k, v in metrics.items() if v.ndim == 2}
            for s in range(self.seeds):
                for t in range(metrics["env_steps"].shape[1]):
                    row = {**config, "config": c, "seed": s, "iteration": t + 1}
                    row.update({k: _number(v[s, t]) for k, v in scalars.items()})
                    rows.append(row)
        return rows

    def summary(self, threshold: float | None = None) -> list[dict]:
        """Per configuration: its values, the final evaluation return's mean, standard
        deviation and 95% bootstrap interval over seeds, the best seed-mean return,
        and with ``threshold`` the env steps at which each seed first reaches it
        (``steps_to_threshold``, NaN for a seed that never does), how many seeds reach
        it (``seeds_reaching_threshold``) and the mean over those that do."""
        out = []
        for c, (config, metrics) in enumerate(zip(self.configs, self.metrics)):
            if metrics is None:
                continue
            returns = metrics["eval_return"]                       # [seeds, points]
            final = returns[:, -1]
            low, high = bootstrap_interval(final)
            entry = {**config, "config": c, "seeds": self.seeds,
                     "final_return_mean": float(np.mean(final)),
                     "final_return_std": float(np.std(final)),
                     "final_return_ci95": [low, high],
                     "best_mean_return": float(np.nanmax(np.mean(returns, 0)))}
            if threshold is not None:
                steps = [_first_reaching(metrics["env_steps"][s], returns[s], threshold)
                         for s in range(self.seeds)]
                reached = [x for x in steps if np.isfinite(x)]
                entry.update(threshold=threshold, steps_to_threshold=steps,
                             seeds_reaching_threshold=len(reached),
                             mean_steps_to_threshold=float(np.mean(reached)) if reached
                             else float("nan"))
            out.append(entry)
        return out

    def write(self, directory, name: str = "sweep", *, threshold: float | None = None,
              plots: bool = True) -> dict:
        """Writes ``<name>.csv`` and ``<name>.jsonl`` (the table; ``pandas.read_csv`` /
        ``pandas.read_json(lines=True)`` load them), ``<name>_summary.json`` (the
        summary and the sweep's facts) and, with ``plots``, the PNGs of
        `jwm.sweeps.plots`. Only process 0 writes. Returns ``{kind: path}``."""
        import jax

        from jwm.atomic import write_json

        paths = {"csv": os.path.join(directory, f"{name}.csv"),
                 "jsonl": os.path.join(directory, f"{name}.jsonl"),
                 "summary": os.path.join(directory, f"{name}_summary.json")}
        if jax.process_index():
            return paths
        os.makedirs(directory, exist_ok=True)
        rows = self.rows()
        columns = list(dict.fromkeys(k for row in rows for k in row))
        _replace_atomically(paths["csv"], lambda f: _write_csv(f, columns, rows))
        _replace_atomically(paths["jsonl"], lambda f: f.writelines(
            json.dumps(to_json(row)) + "\n" for row in rows))
        write_json(paths["summary"], to_json({
            "configs": self.configs, "seeds": self.seeds, "traced": list(self.traced),
            "programs": self.num_groups, "devices": self.devices,
            "processes": self.processes, "interrupted": self.interrupted,
            "wall_time_s": self.wall_time_s, "summary": self.summary(threshold)}))
        if plots:
            from jwm.sweeps.plots import plot_sweep

            paths.update(plot_sweep(self, directory, name))
        return paths


def _number(x):
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.bool_):
        return int(x)
    return float(x)


def _write_csv(f, columns, rows):
    writer = csv.DictWriter(f, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (json.dumps(v) if isinstance(v, (list, dict)) else v)
                         for k, v in row.items()})


def _replace_atomically(path, write):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        write(f)
    os.replace(tmp, path)
