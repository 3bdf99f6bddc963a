"""Ready-made runs shared by the ``jwm`` command and ``experiments/``: PETS with
per-environment defaults, seeds vmapped under a progress bar, and results written in
the schema of DESIGN.md (JSON, atomically) with a learning-curve PNG."""

from __future__ import annotations

import copy
import json
import os
import sys
import time
from typing import Any

import jax.numpy as jnp
import numpy as np

__all__ = ["PETS_DEFAULTS", "pets_config", "build_pets", "progress_bar", "run_seeds", "run_pets", "baseline_returns",
           "write_json", "plot_learning_curves", "device_name"]

# Per-environment PETS settings. Pendulum: a small swish ensemble suffices and keeps a
# 10-episode run to minutes on a 2-core CPU; many epochs per refit matter more than width
# while the data set is a few hundred transitions.
PETS_DEFAULTS: dict[str, dict[str, Any]] = {
    "default": {
        "episodes": 10, "random_episodes": 1, "steps_per_episode": None,
        "known_reward": False,
        "model": {"ensemble_size": 5, "hidden_sizes": [200, 200, 200], "particles": 20,
                  "propagation": "ts_inf"},
        "planner": {"horizon": 25, "population": 400, "iterations": 5, "elite_frac": 0.1,
                    "alpha": 0.1},
        "fit": {"epochs": 50, "batch_size": 32, "learning_rate": 1e-3, "holdout_ratio": 0.1},
    },
    "gymnax:Pendulum-v1": {
        "model": {"ensemble_size": 5, "hidden_sizes": [64, 64, 64], "particles": 10},
        "planner": {"horizon": 25, "population": 200, "iterations": 5, "elite_frac": 0.1,
                    "alpha": 0.1},
        "fit": {"epochs": 100},
    },
    # The +100 for reaching the flag is too rare in random data to be learned, so the
    # env's own reward and termination are given to the model (as PETS does for its tasks).
    "gymnax:MountainCarContinuous-v0": {
        "episodes": 5, "known_reward": True,
        "model": {"ensemble_size": 5, "hidden_sizes": [64, 64, 64], "particles": 5},
        "planner": {"horizon": 60, "population": 100, "iterations": 3, "elite_frac": 0.1,
                    "alpha": 0.1},
        "fit": {"epochs": 50},
    },
}


def _mountain_car_reward(obs, action, next_obs):
    at_goal = (next_obs[0] >= 0.45) & (next_obs[1] >= 0.0)
    return -0.1 * jnp.sum(action ** 2) + 100.0 * at_goal


def _mountain_car_termination(obs, action, next_obs):
    return (next_obs[0] >= 0.45) & (next_obs[1] >= 0.0)


# Known reward and termination functions ``f(obs, action, next_obs)``, transcribed from
# the env's step (gymnax continuous_mountain_car.py).
KNOWN_FUNCTIONS = {
    "gymnax:MountainCarContinuous-v0": (_mountain_car_reward, _mountain_car_termination),
}


def pets_config(env_name: str, **overrides) -> dict:
    """The PETS configuration for ``env_name``: the defaults, the env's settings, then
    ``overrides`` (top-level keys, or ``model``/``planner``/``fit`` dicts merged)."""
    config = copy.deepcopy(PETS_DEFAULTS["default"])
    for layer in (PETS_DEFAULTS.get(env_name, {}), overrides):
        for key, value in layer.items():
            if isinstance(value, dict):
                config[key].update(value)
            elif value is not None:
                config[key] = value
    return config


def build_pets(env, config: dict, progress=None):
    """``(model, planner, agent)`` for ``env`` from a `pets_config` dictionary."""
    from jwm import agents, models, planners

    mc = dict(config["model"])
    mc["hidden_sizes"] = tuple(mc["hidden_sizes"])
    if config["known_reward"]:
        if env.name not in KNOWN_FUNCTIONS:
            raise ValueError(f"known_reward: no known reward function for {env.name!r}; "
                             f"known for {sorted(KNOWN_FUNCTIONS)}")
        mc["reward_fn"], mc["termination_fn"] = KNOWN_FUNCTIONS[env.name]
    model = models.ensemble_model(env.observation_space, env.action_space, **mc)
    planner = planners.cem(model, env.action_space, **config["planner"])
    agent = agents.pets(env, model, planner, episodes=config["episodes"],
                        random_episodes=config["random_episodes"],
                        steps_per_episode=config["steps_per_episode"],
                        fit_options=config["fit"], progress=progress)
    return model, planner, agent


def device_name() -> str:
    import jax

    d = jax.devices()[0]
    return f"{d.platform}: {d.device_kind}, {os.cpu_count()} cores"


def progress_bar(total: int, unit: str, desc: str, show: bool = True):
    """A tqdm bar on stderr for a vmapped run; it says "compiling" until the run's
    first host callback updates it."""
    from tqdm.auto import tqdm

    bar = tqdm(total=total, unit=unit, file=sys.stderr, disable=not show, desc=desc)
    bar.set_postfix_str("compiling")
    return bar


def run_seeds(run, *, seeds: int, seed: int = 0):
    """``jit(vmap(run))`` over ``seeds`` keys split from ``key(seed)``, run to
    completion: ``(result, wall-clock seconds, compilation included)``."""
    import jax

    keys = jax.random.split(jax.random.key(seed), seeds)
    start = time.perf_counter()
    result = jax.block_until_ready(jax.jit(jax.vmap(run))(keys))
    return result, time.perf_counter() - start


def run_pets(env_name: str, *, seeds: int, seed: int = 0, show_progress: bool = True,
             **overrides) -> dict:
    """Runs PETS for ``seeds`` seeds as one jitted, vmapped program.

    Returns a results record in the schema of DESIGN.md (``env``, ``algorithm``,
    ``config``, ``seeds``, ``env_steps``, ``eval_returns [seed][point]``,
    ``wall_time_s``, ``device``) plus per-episode diagnostics.
    """
    import jax

    from jwm import envs

    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds must be a positive int, got {seeds!r}")
    env = envs.make(env_name)
    config = pets_config(env_name, **overrides)
    episodes = config["episodes"]
    bar = progress_bar(episodes * seeds, "episode", f"PETS on {env_name} ({seeds} seeds)",
                       show_progress)

    def progress(index, episode_return):
        bar.set_postfix_str(f"episode {int(index) + 1}/{episodes}, return {float(episode_return):.1f}")
        bar.update(1)

    _, _, agent = build_pets(env, config, progress=progress)
    config["steps_per_episode"] = agent.steps_per_episode
    result, wall = run_seeds(agent.run, seeds=seeds, seed=seed)
    bar.close()
    m = jax.tree.map(np.asarray, result.metrics)
    return {
        "env": env_name, "algorithm": "PETS (CEM-MPC on a probabilistic ensemble, TS)",
        "config": config, "seeds": seeds, "seed": seed,
        "env_steps": m.env_steps[0].tolist(),
        "eval_returns": m.episode_return.astype(float).tolist(),
        "random_episode": m.random[0].tolist(),
        "predicted_returns": np.where(np.isnan(m.predicted_return), None,
                                      m.predicted_return).tolist(),
        "val_error": m.val_error.mean(-1).tolist(),
        "wall_time_s": wall, "device": device_name(), "jax": jax.__version__,
    }


def baseline_returns(env_name: str, *, seeds: int, seed: int = 0, planner_config=None,
                     steps=None) -> dict:
    """Mean episode returns of uniformly random actions and, when ``planner_config``
    is given, of CEM-MPC with the true model (the ceiling a learned model aims at)."""
    import jax

    from jwm import agents, envs, models, planners

    env = envs.make(env_name)
    true = models.true_model(env)
    keys = jax.random.split(jax.random.key(seed + 1), seeds)
    runs = {"random actions": agents.random_planner(env.action_space)}
    if planner_config is not None:
        runs["true-model CEM"] = planners.cem(true, env.action_space, **planner_config)
    out = {}
    for label, planner in runs.items():
        episode = lambda k, p=planner: agents.mpc_episode(env, true, p, (), k, num_steps=steps).total_return
        returns = np.asarray(jax.jit(jax.vmap(episode))(keys), np.float64)
        out[label] = {"mean": float(returns.mean()), "returns": returns.tolist()}
    return out


def write_json(path: str, record: dict) -> None:
    """Writes ``record`` to ``path`` atomically (a temporary file, then a rename)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(record, f, indent=2)
    os.replace(tmp, path)


def plot_learning_curves(record: dict, path: str, baselines: dict | None = None,
                         target: float | None = None) -> None:
    """PNG of evaluation return against env steps: each seed thin, the mean thick,
    baselines as horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.asarray(record["env_steps"])
    returns = np.asarray(record["eval_returns"], np.float64)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for r in returns:
        ax.plot(steps, r, color="C0", alpha=0.3, lw=1)
    ax.plot(steps, returns.mean(0), color="C0", lw=2.5, marker="o",
            label=f"{record['algorithm'].split(' ')[0]} (mean of {len(returns)} seeds)")
    for i, (label, b) in enumerate((baselines or {}).items()):
        ax.axhline(b["mean"], color=f"C{i + 1}", ls="--", lw=1.5, label=label)
    if target is not None:
        ax.axhline(target, color="k", ls=":", lw=1, label=f"target {target:g}")
    ax.set_xlabel("env steps")
    ax.set_ylabel("episode return")
    ax.set_title(f"{record['algorithm'].split(' (')[0]} on {record['env']}", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
