"""PETS learning curves: evaluation return after every episode, several seeds at once.

Writes ``experiments/results/pets_<env>.json`` (results schema of DESIGN.md, plus the
random-action and true-model CEM baselines) and ``pets_<env>.png``.

    python experiments/pets.py                                   # Pendulum, 5 seeds, 10 episodes
    python experiments/pets.py --env gymnax:MountainCarContinuous-v0 --seeds 3 --episodes 5
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from jwm import runs

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
TARGETS = {"gymnax:Pendulum-v1": -200.0}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="gymnax:Pendulum-v1")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--episodes", type=int, default=None,
                        help="episodes per seed, the random warm-up included (default: the env's)")
    parser.add_argument("--no-baselines", action="store_true",
                        help="skip the random-action and true-model CEM baselines")
    args = parser.parse_args(argv)

    record = runs.run_pets(args.env, seeds=args.seeds, seed=args.seed, episodes=args.episodes)
    if not args.no_baselines:
        config = record["config"]
        record["baselines"] = runs.baseline_returns(
            args.env, seeds=args.seeds, seed=args.seed, planner_config=config["planner"],
            steps=config["steps_per_episode"])
    returns = np.asarray(record["eval_returns"])
    target = TARGETS.get(args.env)
    if target is not None:
        reached = (returns >= target).any(1)
        record["target"] = {"return": target, "seeds_reaching": int(reached.sum()),
                            "first_episode_reaching": [int(np.argmax(r >= target)) + 1 if ok else None
                                                       for r, ok in zip(returns, reached)]}
    name = "pets_" + args.env.split(":")[-1]
    runs.write_json(os.path.join(RESULTS, name + ".json"), record)
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
