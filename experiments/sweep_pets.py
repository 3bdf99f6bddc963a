"""A PETS sweep on Pendulum: CEM's momentum ``alpha`` × the model's learning rate,
every configuration and seed in one compiled program (`jwm.sweep`).

Both names are floats, so they are traced: the 3 × 3 grid × seeds runs as one vmapped
program, sharded over every device. Writes ``experiments/results/sweep_pets.csv``,
``.jsonl``, ``_summary.json`` and the learning curves and heat-map PNGs. The PETS recipe
is shrunk (fewer episodes, a smaller CEM) so that the sweep fits in minutes on 2 CPU
cores; ``--full`` uses the recipe's own settings.

    python experiments/sweep_pets.py                    # 9 configurations × 3 seeds
    python experiments/sweep_pets.py --full --seeds 5
"""

from __future__ import annotations

import argparse
import os

from jwm.recipes import PETS
from jwm.sweeps import grid, sweep
from jwm.sweeps.files import recipe_factory

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
SMALL = {"model": {"hidden_sizes": [64, 64], "particles": 5},
         "planner": {"horizon": 15, "population": 100, "iterations": 3},
         "loop": {"total_steps": 1_200, "fit_epochs": 25}}  # 6 episodes of 200 steps


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
