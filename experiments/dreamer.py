"""Dreamer learning curves: evaluation return against env steps, seeds vmapped in one
jitted program.

Runs the Dreamer recipe (`jwm.recipes.DREAMER`) through `jwm.train`. Writes
``experiments/results/dreamer_<env>.json`` (results schema of docs/design.md) and
``dreamer_<env>.png``. With ``--checkpoint-dir`` an interrupted run resumes.

    python experiments/dreamer.py --env gymnax:CartPole-v1 --seeds 3
    python experiments/dreamer.py --env gymnax:Pendulum-v1 --seeds 3
"""

from __future__ import annotations

import argparse
import os

from jwm import runs
from jwm.recipes import DREAMER, run_recipe

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
TARGETS = {"gymnax:CartPole-v1": (450.0, 100_000), "gymnax:Pendulum-v1": (-250.0, 20_000)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="gymnax:CartPole-v1")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None,
                        help="env steps of the run, the prefill included")
    parser.add_argument("--eval-every", type=int, default=None)
    parser.add_argument("--checkpoint-dir", default=None)
    parser.add_argument("--out", default=RESULTS)
    args = parser.parse_args(argv)

    loop = {k: v for k, v in (("total_steps", args.steps), ("eval_every", args.eval_every))
            if v is not None}
    _, _, record = run_recipe(DREAMER, args.env, seeds=args.seeds, seed=args.seed,
                              overrides={"loop": loop} if loop else None,
                              checkpoint_dir=args.checkpoint_dir)
    runs.save_experiment(record, args.out, "dreamer_" + args.env.split(":")[-1],
                         TARGETS.get(args.env))
    return record


if __name__ == "__main__":
    main()
