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

import numpy as np

from jwm import runs
from jwm.recipes import DREAMER, run_recipe

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
TARGETS = {"gymnax:CartPole-v1": (450.0, 100_000), "gymnax:Pendulum-v1": (-250.0, 20_000)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="gymnax:CartPole-v1")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="env steps after the prefill")
    parser.add_argument("--eval-every", type=int, default=None)
    parser.add_argument("--checkpoint-dir", default=None)
    parser.add_argument("--out", default=RESULTS)
    args = parser.parse_args(argv)

    loop = {k: v for k, v in (("total_steps", args.steps), ("eval_every", args.eval_every))
            if v is not None}
    _, _, record = run_recipe(DREAMER, args.env, seeds=args.seeds, seed=args.seed,
                              overrides={"loop": loop} if loop else None,
                              checkpoint_dir=args.checkpoint_dir)
    target = TARGETS.get(args.env)
    if target is not None:
        record["target"] = runs.target_summary(record, *target)
    returns = np.asarray(record["eval_returns"])
    name = "dreamer_" + args.env.split(":")[-1]
    runs.write_json(os.path.join(args.out, name + ".json"), record)
    runs.plot_learning_curves(record, os.path.join(args.out, name + ".png"),
                              target=None if target is None else target[0])
    print(f"{args.env}: mean eval return per point "
          + " ".join(f"{x:.0f}" for x in returns.mean(0)))
    print(f"env steps {record['env_steps']}")
    print(f"target {record.get('target')}, wall {record['wall_time_s']:.0f} s")
    return record


if __name__ == "__main__":
    main()
