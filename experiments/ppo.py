"""Model-free baseline: rejax PPO learning curves on a gymnax env, all seeds at once.

Writes ``experiments/results/ppo_<EnvName>.json`` (results schema of docs/design.md; the
evaluation return every ``eval_freq`` env steps, greedy policy, with the sampled
policy's return beside it) and ``ppo_<EnvName>.png``.

    python experiments/ppo.py --env CartPole-v1 --seeds 5            # 200k steps
    python experiments/ppo.py --env Pendulum-v1 --seeds 5            # 1M steps
    python experiments/ppo.py --env Pendulum-v1 --seeds 2 --steps 100000
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from jwm import baselines, runs
from jwm.atomic import write_json
from jwm.curves import steps_to_threshold

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
# The return thresholds of the model-based vs model-free comparison (mb_vs_mf.py).
THRESHOLDS = {"gymnax:CartPole-v1": 450.0, "gymnax:Pendulum-v1": -250.0}


def main(argv=None, results_dir: str = RESULTS) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="CartPole-v1",
                        help=f"one of {sorted(baselines.PPO_CONFIGS)} (the 'gymnax:' prefix is optional)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None,
                        help="env steps per seed (default: the env's budget in jwm.baselines.PPO_CONFIGS)")
    parser.add_argument("--eval-freq", type=int, default=None,
                        help="env steps between evaluations (rounded up to whole PPO updates)")
    args = parser.parse_args(argv)

    record = baselines.run_ppo(args.env, seeds=args.seeds, seed=args.seed,
                               total_timesteps=args.steps, eval_freq=args.eval_freq)
    env = record["env"]
    threshold = THRESHOLDS.get(env)
    if threshold is not None:
        record["threshold"] = steps_to_threshold(
            record["env_steps"], record["eval_returns"], threshold)
    name = "ppo_" + env.split(":")[-1]
    write_json(os.path.join(results_dir, name + ".json"), record)
    runs.plot_learning_curves(record, os.path.join(results_dir, name + ".png"), target=threshold)
    returns = np.asarray(record["eval_returns"])
    every = max(1, returns.shape[1] // 10)
    print(f"{env}: seed-mean greedy return at env steps "
          + " ".join(f"{s}:{r:.0f}" for s, r in zip(record["env_steps"][::every], returns.mean(0)[::every])))
    print(f"final per seed {np.round(returns[:, -1], 1).tolist()}; wall {record['wall_time_s']:.1f} s "
          f"({record['compile_time_s']:.1f} s compiling) on {record['device']}")
    if threshold is not None:
        t = record["threshold"]
        print(f"threshold {threshold:g}: seed-mean first at {t['mean_steps']}, "
              f"{t['seeds_reaching']}/{t['seeds']} seeds reach it, median seed at {t['median_seed_steps']}")
    return record


if __name__ == "__main__":
    main()
