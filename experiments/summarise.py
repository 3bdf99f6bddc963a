"""Prints the README's results table (Markdown) from ``experiments/results/*.json``.

    python experiments/summarise.py
"""

from __future__ import annotations

import glob
import json
import os

import numpy as np

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def rows():
    for path in sorted(glob.glob(os.path.join(RESULTS, "*.json"))):
        with open(path) as f:
            r = json.load(f)
        if "eval_returns" not in r:
            continue  # summaries, not runs
        final = np.array([seed[-1] for seed in r["eval_returns"]], dtype=float)
        yield (r["env"], r["algorithm"], r["seeds"], final.mean(), final.std(), final.min(),
               r["env_steps"][-1], r["wall_time_s"], r["device"], os.path.basename(path))


def main() -> None:
    print("| env | algorithm | seeds | mean return | std | worst seed | env steps learned from "
          "| wall time (s) | device | file |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|---|")
    for env, alg, seeds, mean, std, worst, steps, wall, device, name in rows():
        print(f"| {env} | {alg} | {seeds} | {mean:.1f} | {std:.1f} | {worst:.1f} | {steps} "
              f"| {wall:.1f} | {device} | `{name}` |")


if __name__ == "__main__":
    main()
