"""SVG learning curves: a policy trained by value gradients through a world model.

Runs the SVG recipe (`jwm.recipes.SVG`) through `jwm.train`: every round collects one
episode with the exploring policy, refits the model (learned models only), runs the
learner's updates and evaluates the deterministic policy; all seeds run as one
vmapped program. Writes ``experiments/results/svg_<env>.json`` (ensemble model;
``svg_<env>_<model>.json`` for the others) in the results schema of docs/design.md,
and a PNG beside it. With ``--checkpoint-dir`` an interrupted run resumes.

    python experiments/svg.py                          # Pendulum, learned ensemble, 5 seeds
    python experiments/svg.py --model mlp --seeds 3    # deterministic MLP model
    python experiments/svg.py --model true --seeds 5   # the differentiable simulator itself
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from jwm import runs
from jwm.atomic import write_json
from jwm.curves import steps_to_threshold
from jwm.recipes import MODEL_KINDS, SVG, run_recipe

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
TARGETS = {"gymnax:Pendulum-v1": -250.0}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="gymnax:Pendulum-v1")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None,
                        help=f"env steps per seed, the random prefill included "
                             f"(default {SVG.defaults['loop']['total_steps']})")
    parser.add_argument("--updates", type=int, default=None,
                        help=f"updates per episode (default "
                             f"{SVG.defaults['loop']['updates_per_episode']})")
    parser.add_argument("--model", choices=sorted(MODEL_KINDS), default="ensemble")
    parser.add_argument("--checkpoint-dir", default=None)
    args = parser.parse_args(argv)

    overrides = {"model": {"kind": args.model}, "loop": {}}
    if args.model == "mlp":
        overrides["model"]["sample"] = False
    if args.steps is not None:
        overrides["loop"]["total_steps"] = args.steps
    if args.updates is not None:
        overrides["loop"]["updates_per_episode"] = args.updates
    _, _, record = run_recipe(SVG, args.env, seeds=args.seeds, seed=args.seed,
                              overrides=overrides, checkpoint_dir=args.checkpoint_dir)
    agent_config = record["agent_config"]
    record["algorithm"] = f"SVG (value gradients through {MODEL_KINDS[args.model]}, learned value)"
    record["eval_note"] = (f"mean return of the deterministic policy over "
                           f"{agent_config['eval_episodes']} fresh episodes after each round; "
                           "env_steps counts collected steps only")
    record["baselines"] = runs.baseline_returns(args.env, seeds=args.seeds, seed=args.seed,
                                                steps=agent_config["steps_per_episode"])
    returns = np.asarray(record["eval_returns"])
    target = TARGETS.get(args.env)
    if target is not None:
        reach = steps_to_threshold(np.asarray(record["env_steps"]), returns, target)
        record["target"] = {"return": target, **reach}
    name = "svg_" + args.env.split(":")[-1] + ("" if args.model == "ensemble" else "_" + args.model)
    write_json(os.path.join(RESULTS, name + ".json"), record)
    runs.plot_learning_curves(record, os.path.join(RESULTS, name + ".png"),
                              baselines=record["baselines"], target=target)
    print(f"{args.env} ({args.model}): mean eval return per round "
          + " ".join(f"{x:.0f}" for x in returns.mean(0)))
    print(f"env steps {record['env_steps']}")
    print(f"final {returns[:, -1].mean():.1f}, best mean {returns.mean(0).max():.1f}, "
          f"target {record.get('target')}, wall {record['wall_time_s']:.0f} s")
    return record


if __name__ == "__main__":
    main()
