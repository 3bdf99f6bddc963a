"""SVG learning curves: a policy trained by value gradients through a world model.

Every round collects one episode with the exploring policy, refits the model (learned
models only), runs the SVG updates and evaluates the deterministic policy; all seeds
run as one jitted, vmapped program. Writes ``experiments/results/svg_<env>.json``
(ensemble model; ``svg_<env>_<model>.json`` for the others) in the results schema of
DESIGN.md, and a PNG beside it.

    python experiments/svg.py                          # Pendulum, learned ensemble, 5 seeds
    python experiments/svg.py --model mlp              # deterministic MLP model
    python experiments/svg.py --model true --seeds 5   # the differentiable simulator itself
"""

from __future__ import annotations

import argparse
import copy
import os

import jax
import numpy as np

import jwm
from jwm import runs
from jwm.imagination import svg as svg_learner

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
TARGETS = {"gymnax:Pendulum-v1": -250.0}

# Defaults that reach the target on Pendulum-v1 (see the README). The model is the
# small swish ensemble that PETS uses there; SVG imagines 10 steps (0.5 s) ahead from
# 256 buffer states per update and lets the critic carry the rest of the return.
CONFIG = {
    "episodes": 15, "random_episodes": 1, "updates_per_episode": 200, "batch_size": 256,
    "eval_episodes": 5,
    "learner": {"horizon": 10, "discount": 0.99, "lambda_": 0.95,
                "actor_hidden_sizes": [64, 64], "critic_hidden_sizes": [64, 64],
                "activation": "elu", "actor_lr": 3e-4, "critic_lr": 1e-3, "grad_clip": 100.0,
                "entropy_coef": 1e-3, "init_std": 1.0, "min_std": 0.05, "target_tau": 0.02},
    "model": {"ensemble_size": 5, "hidden_sizes": [64, 64, 64], "sample": True},
    "fit": {"epochs": 50},
}
MODELS = {"ensemble": "a probabilistic ensemble, one member per imagined trajectory",
          "mlp": "a deterministic MLP", "true": "the differentiable simulator"}


def build(env_name: str, model_kind: str, config: dict, progress=None):
    """``(env, model, learner, agent)`` for a configuration."""
    learner_options = dict(config["learner"])
    for key in ("actor_hidden_sizes", "critic_hidden_sizes"):
        learner_options[key] = tuple(learner_options[key])
    if model_kind == "true":
        env = jwm.envs.make(env_name, transition_gradients=True)
        model = jwm.models.true_model(env)
        view, fit_options = model, None
        learner_options["observe"] = env.observe
    else:
        env = jwm.envs.make(env_name)
        mc = dict(config["model"])
        sample = mc.pop("sample")
        hidden = tuple(mc.pop("hidden_sizes"))
        if model_kind == "mlp":
            model = jwm.models.mlp_model(env.observation_space, env.action_space,
                                         hidden_sizes=hidden)
        else:
            size = mc.pop("ensemble_size")
            model = jwm.models.ensemble_model(env.observation_space, env.action_space,
                                              ensemble_size=size, hidden_sizes=hidden,
                                              particles=size)
        view, fit_options = jwm.models.member_model(model, sample=sample), config["fit"]
    learner = svg_learner(view, env.observation_space, env.action_space, **learner_options)
    agent = jwm.agents.svg(env, model, learner, episodes=config["episodes"],
                           random_episodes=config["random_episodes"],
                           updates_per_episode=config["updates_per_episode"],
                           batch_size=config["batch_size"],
                           eval_episodes=config["eval_episodes"], fit_options=fit_options,
                           progress=progress)
    return env, model, learner, agent


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="gymnax:Pendulum-v1")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--episodes", type=int, default=None,
                        help=f"rounds per seed, the random warm-up included (default {CONFIG['episodes']})")
    parser.add_argument("--updates", type=int, default=None,
                        help=f"SVG updates per round (default {CONFIG['updates_per_episode']})")
    parser.add_argument("--model", choices=sorted(MODELS), default="ensemble")
    args = parser.parse_args(argv)

    config = copy.deepcopy(CONFIG)
    if args.episodes is not None:
        config["episodes"] = args.episodes
    if args.updates is not None:
        config["updates_per_episode"] = args.updates
    if args.model != "ensemble":
        config["model"] = {} if args.model == "true" else {
            "hidden_sizes": config["model"]["hidden_sizes"], "sample": False}
    if args.model == "true":
        config["fit"] = {}
    config["model_kind"] = args.model

    bar = runs.progress_bar(config["episodes"] * args.seeds, "round",
                            f"SVG on {args.env} ({args.model} model, {args.seeds} seeds)")

    def progress(index, eval_return):
        bar.set_postfix_str(f"round {int(index) + 1}/{config['episodes']}, eval {float(eval_return):.1f}")
        bar.update(1)

    env, _, _, agent = build(args.env, args.model, config, progress=progress)
    config["steps_per_episode"] = agent.steps_per_episode
    result, wall = runs.run_seeds(agent.run, seeds=args.seeds, seed=args.seed)
    bar.close()
    m = jax.tree.map(np.asarray, result.metrics)
    returns = m.eval_return.astype(float)
    record = {
        "env": args.env,
        "algorithm": f"SVG (value gradients through {MODELS[args.model]}, learned value)",
        "config": config, "seeds": args.seeds, "seed": args.seed,
        "env_steps": m.env_steps[0].tolist(),
        "eval_returns": returns.tolist(),
        "eval_note": (f"mean return of the deterministic policy over {agent.eval_episodes} "
                      "fresh episodes after each round; env_steps counts collected steps only"),
        "collected_returns": m.episode_return.astype(float).tolist(),
        "imagined_return": m.imagined_return.mean(0).tolist(),
        "critic_loss": m.critic_loss.mean(0).tolist(),
        "wall_time_s": wall, "device": runs.device_name(), "jax": jax.__version__,
    }
    baselines = runs.baseline_returns(args.env, seeds=args.seeds, seed=args.seed,
                                      steps=agent.steps_per_episode)
    record["baselines"] = baselines
    target = TARGETS.get(args.env)
    if target is not None:
        mean = returns.mean(0)
        reached = np.nonzero(mean >= target)[0]
        first = int(reached[0]) if len(reached) else None
        record["target"] = {
            "return": target, "reached": first is not None,
            "first_env_steps_mean_reaching": None if first is None else int(m.env_steps[0][first]),
            "seeds_reaching": int((returns >= target).any(1).sum()),
        }
    name = "svg_" + args.env.split(":")[-1] + ("" if args.model == "ensemble" else "_" + args.model)
    runs.write_json(os.path.join(RESULTS, name + ".json"), record)
    runs.plot_learning_curves(record, os.path.join(RESULTS, name + ".png"),
                              baselines=baselines, target=target)
    print(f"{args.env} ({args.model}): mean eval return per round "
          + " ".join(f"{x:.0f}" for x in returns.mean(0)))
    print(f"env steps {record['env_steps']}")
    print(f"final {returns[:, -1].mean():.1f}, best mean {returns.mean(0).max():.1f}, "
          f"target {record.get('target')}, wall {wall:.0f} s")
    return record


if __name__ == "__main__":
    main()
