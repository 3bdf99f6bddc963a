"""A PETS sweep on Pendulum: CEM's momentum ``alpha`` × the model's learning rate,
every configuration and seed in one compiled program (`jwm.sweep`).

Both names are floats, so they are traced: the 3 × 3 grid × seeds runs as one vmapped
program, sharded over every device. Writes ``experiments/results/sweep_pets.csv``,
``.jsonl``, ``_summary.json`` (with its Markdown, `markdown`) and the learning curves and
heat-map PNGs. The PETS recipe
is shrunk (fewer episodes, a smaller CEM) so that the sweep fits in minutes on 2 CPU
cores; ``--full`` uses the recipe's own settings.

    python experiments/sweep_pets.py                    # 9 configurations × 3 seeds
    python experiments/sweep_pets.py --full --seeds 5
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from jwm.recipes import PETS
from jwm.sweeps import grid, sweep
from jwm.sweeps.files import recipe_factory

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # results_io, beside this file
from results_io import num, table, write_markdown  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
SMALL = {"model": {"hidden_sizes": [64, 64], "particles": 5},
         "planner": {"horizon": 15, "population": 100, "iterations": 3},
         "loop": {"total_steps": 1_200, "fit_epochs": 25}}  # 6 episodes of 200 steps


def markdown(record: dict) -> str:
    """The grid of the two traced settings: per cell the final return's mean over seeds
    and the seeds reaching the threshold, with the spread of the bootstrap intervals
    (``summary``)."""
    summary = record["summary"]
    rows_key, cols_key = (record.get("traced", []) + ["planner.alpha", "optimizer.learning_rate"])[:2]
    cell = {(s[rows_key], s[cols_key]): s for s in summary}
    cols = sorted({s[cols_key] for s in summary})
    rows = [[a] + ["–" if (a, lr) not in cell else
                   f"{num(cell[a, lr]['final_return_mean'], 0)} "
                   f"({cell[a, lr]['seeds_reaching_threshold']}/{cell[a, lr]['seeds']})"
                   for lr in cols] for a in sorted({s[rows_key] for s in summary})]
    lo = min(s["final_return_ci95"][0] for s in summary)
    hi = max(s["final_return_ci95"][1] for s in summary)
    return "\n".join([
        f"`{rows_key}` × `{cols_key}`, {record['seeds']} seeds each: "
        f"{len(record['configs']) * record['seeds']} runs of PETS on Pendulum as "
        f"{record.get('programs', 1)} compiled program(s) (both names are traced), "
        f"{num(record.get('wall_time_s'), 0)} s. The recipe is shrunk so the sweep fits in "
        "minutes (`--full` runs the recipe's sizes).", "",
        table([f"{rows_key} \\ {cols_key}"] + [str(lr) for lr in cols], rows), "",
        f"Final-episode return, mean over seeds (seeds reaching "
        f"{num(summary[0].get('threshold'), 0)}). The final returns' 95% bootstrap intervals "
        f"span {num(lo, 0)} to {num(hi, 0)} over the grid."]) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--alpha", type=float, nargs="+", default=[0.0, 0.25, 0.5])
    parser.add_argument("--learning-rate", type=float, nargs="+", default=[3e-4, 1e-3, 3e-3])
    parser.add_argument("--threshold", type=float, default=-300.0)
    parser.add_argument("--full", action="store_true", help="the recipe's own sizes")
    parser.add_argument("--devices", type=int, default=None)
    parser.add_argument("--checkpoint-dir", default=None)
    parser.add_argument("--out", default=RESULTS)
    args = parser.parse_args(argv)

    factory = recipe_factory(PETS, "gymnax:Pendulum-v1", {} if args.full else SMALL)
    configs = grid(**{"planner.alpha": args.alpha, "optimizer.learning_rate": args.learning_rate})
    result = sweep(factory, configs, seeds=args.seeds, key=args.seed, devices=args.devices,
                   checkpoint_dir=args.checkpoint_dir)
    paths = result.write(args.out, "sweep_pets", threshold=args.threshold)
    with open(paths["summary"]) as f:
        write_markdown(paths["summary"], json.load(f), markdown)
    print(f"{len(configs)} configurations × {args.seeds} seeds, {result.num_groups} "
          f"program(s), {result.wall_time_s:.0f} s on {len(result.devices)} device(s)")
    for entry in result.summary(args.threshold):
        low, high = entry["final_return_ci95"]
        print(f"  alpha {entry['planner.alpha']:<5} lr {entry['optimizer.learning_rate']:<7g} "
              f"final {entry['final_return_mean']:7.1f} (95% CI {low:.1f} to {high:.1f}), "
              f"best {entry['best_mean_return']:7.1f}, {entry['seeds_reaching_threshold']} of "
              f"{args.seeds} seeds reach {args.threshold:g}, at {entry['mean_steps_to_threshold']:.0f} "
              f"env steps on average")
    print("wrote " + ", ".join(paths.values()))
    return result


if __name__ == "__main__":
    main()
