"""MuZero learning curves: evaluation return against env steps, seeds vmapped in one
jitted program.

Runs the MuZero recipe (`jwm.recipes.MUZERO`) through `jwm.train`. Writes
``experiments/results/muzero_<env>.json`` (results schema of docs/design.md) and
``muzero_<env>.png``. With ``--checkpoint-dir`` an interrupted run resumes.

    python experiments/muzero.py --env gymnax:CartPole-v1 --seeds 3
    python experiments/muzero.py --env gymnax:Breakout-MinAtar --seeds 2
"""

from __future__ import annotations

import argparse
import os

from jwm import runs
from jwm.recipes import MUZERO, run_recipe
from jwm.recipes.base import deep_update, parse_settings

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
TARGETS = {"gymnax:CartPole-v1": (475.0, 50_120)}  # within the recipe's run


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="gymnax:CartPole-v1")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None,
                        help="env steps of the run, the prefill included")
    parser.add_argument("--eval-every", type=int, default=None)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="any recipe setting, as `jwm muzero --set` takes it, e.g. "
                             "loop.reanalyse_fraction=0.25 or model.representation=mlp")
    parser.add_argument("--tag", default="", help="suffix of the output file names")
    parser.add_argument("--checkpoint-dir", default=None)
    parser.add_argument("--out", default=RESULTS)
    args = parser.parse_args(argv)

    loop = {k: v for k, v in (("total_steps", args.steps), ("eval_every", args.eval_every))
            if v is not None}
    overrides = deep_update({"loop": loop}, parse_settings(args.set))
    _, _, record = run_recipe(MUZERO, args.env, seeds=args.seeds, seed=args.seed,
                              overrides=overrides, checkpoint_dir=args.checkpoint_dir)
    runs.save_experiment(record, args.out, "muzero_" + args.env.split(":")[-1] + args.tag,
                         TARGETS.get(args.env))
    return record


if __name__ == "__main__":
    main()
