"""Results shared by the ``jwm`` command and ``experiments/``: learning-curve PNGs,
target summaries, and the random-action and true-model baselines a learning curve is
read against. (It sits on the recipes' floor: its baselines build agents.)"""

from __future__ import annotations

import os

import numpy as np

from jwm.atomic import write_json
from jwm.curves import steps_to_threshold

__all__ = ["baseline_returns", "plot_learning_curves", "target_summary", "save_experiment"]


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


def target_summary(record: dict, threshold: float, budget: int) -> dict:
    """When the seed-mean evaluation return of ``record`` reaches ``threshold`` within
    ``budget`` env steps (None: never), when it stays there, and how many seeds reach it."""
    steps = np.asarray(record["env_steps"])
    returns = np.asarray(record["eval_returns"])
    within = steps <= budget
    reach = (steps_to_threshold(steps[within], returns[:, within], threshold)
             if within.any() else {})
    return {"return": threshold, "env_steps": budget,
            "mean_reaches_at_env_steps": reach.get("mean_steps"),
            "mean_stays_from_env_steps": reach.get("mean_sustained_steps"),
            "seeds_reaching": reach.get("seeds_reaching", 0)}


def save_experiment(record: dict, out_dir: str, name: str, target: tuple | None = None) -> None:
    """Writes ``<out_dir>/<name>.json`` and its learning-curve PNG and prints a summary;
    with ``target = (return, env_steps)`` the record gets its `target_summary` first."""
    if target is not None:
        record["target"] = target_summary(record, *target)
    write_json(os.path.join(out_dir, name + ".json"), record)
    plot_learning_curves(record, os.path.join(out_dir, name + ".png"),
                         target=None if target is None else target[0])
    returns = np.asarray(record["eval_returns"], np.float64)
    print(f"{record['env']}: mean eval return per point "
          + " ".join(f"{x:.0f}" for x in returns.mean(0)))
    print(f"env steps {record['env_steps']}")
    print(f"target {record.get('target')}, wall {record['wall_time_s']:.0f} s")
