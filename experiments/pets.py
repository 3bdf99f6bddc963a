"""PETS learning curves: evaluation return after every episode, several seeds at once.

Runs the PETS recipe (`jwm.recipes.PETS`) through `jwm.train` (seeds vmapped in one
program). Writes ``experiments/results/pets_<env>.json`` (results schema of
docs/design.md, plus the random-action and true-model CEM baselines) and
``pets_<env>.png``. With ``--checkpoint-dir`` an interrupted run resumes.

    python experiments/pets.py                                   # Pendulum, 5 seeds, 2,000 steps
    python experiments/pets.py --env gymnax:MountainCarContinuous-v0 --seeds 3 --steps 4995
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from jwm import runs
from jwm.atomic import write_json
from jwm.curves import steps_to_threshold
from jwm.recipes import PETS, run_recipe

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
TARGETS = {"gymnax:Pendulum-v1": -200.0}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="gymnax:Pendulum-v1")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None,
                        help="env steps per seed, the random prefill included (default: the "
                             "env's recipe)")
    parser.add_argument("--checkpoint-dir", default=None)
    parser.add_argument("--no-baselines", action="store_true",
                        help="skip the random-action and true-model CEM baselines")
    args = parser.parse_args(argv)

    overrides = {} if args.steps is None else {"loop": {"total_steps": args.steps}}
    config, _, record = run_recipe(PETS, args.env, seeds=args.seeds, seed=args.seed,
                                        overrides=overrides, checkpoint_dir=args.checkpoint_dir)
    if not args.no_baselines:
        record["baselines"] = runs.baseline_returns(
            args.env, seeds=args.seeds, seed=args.seed, planner_config=config["planner"],
            steps=record["agent_config"]["steps_per_episode"])
    returns = np.asarray(record["eval_returns"])
    target = TARGETS.get(args.env)
    if target is not None:
        reach = steps_to_threshold(np.asarray(record["env_steps"]), returns, target)
        record["target"] = {"return": target, **reach}
    name = "pets_" + args.env.split(":")[-1]
    write_json(os.path.join(RESULTS, name + ".json"), record)
    runs.plot_learning_curves(record, os.path.join(RESULTS, name + ".png"),
                              baselines=record.get("baselines"), target=target)
    print(f"{args.env}: mean return per episode "
          + " ".join(f"{x:.0f}" for x in returns.mean(0)))
    print(f"final {returns[:, -1].mean():.1f}, best per seed {np.round(returns.max(1), 1).tolist()}, "
          f"wall {record['wall_time_s']:.0f} s")
    for label, b in record.get("baselines", {}).items():
        print(f"  {label}: {b['mean']:.1f}")
    return record


if __name__ == "__main__":
    main()
