"""True-model MPC: how well each planner controls an environment given a perfect model.

For every (environment, planner) pair this runs whole MPC episodes for several seeds as
one jitted, vmapped program and writes ``experiments/results/true_model_mpc_<env>_<planner>.json``
in the results schema of docs/design.md (one evaluation point: the model is not learned, so
``env_steps`` is ``[0]``), per environment ``true_model_mpc_<env>_summary.json`` with the
mean returns beside uniformly random actions and a PNG comparing them, and beside each
JSON its Markdown (`markdown`).

    python experiments/true_model_mpc.py                 # all settings below
    python experiments/true_model_mpc.py --only pendulum --seeds 8
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import jax
import numpy as np
from tqdm.auto import tqdm

import jwm
from jwm.device import device_name

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # results_io, beside this file
from results_io import num, write_result  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

# (group, env name, env kwargs, planner label, planner factory, planner config)
SETTINGS = [
    ("pendulum", "gymnax:Pendulum-v1", {}, "cem",
     dict(horizon=30, population=500, elite_frac=0.1, iterations=5)),
    ("pendulum", "gymnax:Pendulum-v1", {}, "mppi",
     dict(horizon=30, population=500, iterations=3, temperature=1.0, smoothing=0.3)),
    ("pendulum", "gymnax:Pendulum-v1", {}, "random_shooting", dict(horizon=30, population=2500)),
    ("cartpole", "gymnax:CartPole-v1", {}, "random_shooting", dict(horizon=80, population=1024)),
    ("cartpole", "gymnax:CartPole-v1", {}, "cem",
     dict(horizon=50, population=128, iterations=3, alpha=0.5)),
    ("inverted_pendulum", "brax:inverted_pendulum", {"backend": "spring", "max_episode_steps": 200},
     "random_shooting", dict(horizon=10, population=64)),
]
FACTORIES = {"cem": jwm.planners.cem, "mppi": jwm.planners.mppi,
             "random_shooting": jwm.planners.random_shooting}


def run(env, planner, seeds: int, seed: int):
    model = jwm.models.true_model(env)

    def episode(key):
        ep = jwm.agents.mpc_episode(env, model, planner, (), key)
        return ep.total_return, ep.length

    keys = jax.random.split(jax.random.key(seed), seeds)
    start = time.perf_counter()
    returns, lengths = jax.block_until_ready(jax.jit(jax.vmap(episode))(keys))
    return np.asarray(returns, np.float64), np.asarray(lengths), time.perf_counter() - start


def plot(group: str, rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    labels = [r["label"] for r in rows]
    for i, r in enumerate(rows):
        ax.scatter(np.full(len(r["returns"]), i), r["returns"], alpha=0.6, color="C0")
        ax.hlines(np.mean(r["returns"]), i - 0.3, i + 0.3, color="C3")
    ax.set_xticks(range(len(rows)), labels, rotation=15)
    ax.set_ylabel("episode return")
    ax.set_title(f"true-model MPC on {rows[0]['env']}\n(dots: seeds, red: mean over seeds)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def markdown(record: dict) -> str:
    """A run: the planner's settings and its episode returns over seeds (mean, spread,
    worst), episode length and wall time. A summary (``mean_returns``): what the runs
    measure and what random actions score."""
    if "mean_returns" in record:
        rnd = record["mean_returns"].get("random actions")
        return (f"On {record['env']} the planner is given the simulator itself as its model. "
                f"Each of {record['seeds']} seeds plays one whole episode at the environment's "
                "time limit; the return of that episode is the result. Uniformly random "
                f"actions score {num(rnd)}.\n")
    finals = [seed[-1] for seed in record["eval_returns"]]
    planner = record["config"]["planner"]
    setting = ", ".join(f"{k} {planner[k]}" for k in ("horizon", "population") if k in planner)
    text = (f"**{record['algorithm']}** on {record['env']} ({setting or 'defaults'}; "
            f"{record['seeds']} seeds): mean return {num(statistics.fmean(finals))} (std "
            f"{num(statistics.pstdev(finals))}, worst seed {num(min(finals))}), mean episode "
            f"length {num(statistics.fmean(record['episode_lengths']))}, "
            f"{num(record['wall_time_s'])} s.")
    if record["env"] == "gymnax:CartPole-v1" and "horizon" in planner:
        # Why CartPole needs its long horizon: every step pays the same while the pole is up.
        text += (" CartPole pays the same reward every step while the pole is up, so all "
                 "candidate plans tie until one falls: the planner needs a horizon long "
                 "enough to see the cart drift off the track.")
    return text + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default=None, help="run one group: " +
                        ", ".join(sorted({s[0] for s in SETTINGS})))
    args = parser.parse_args(argv)
    os.makedirs(RESULTS, exist_ok=True)
    settings = [s for s in SETTINGS if args.only in (None, s[0])]
    by_group: dict[str, list[dict]] = {}
    device = device_name()
    for group, env_name, env_kwargs, label, config in tqdm(settings, desc="settings"):
        env = jwm.envs.make(env_name, **env_kwargs)
        planner = FACTORIES[label](jwm.models.true_model(env), env.action_space, **config)
        returns, lengths, wall = run(env, planner, args.seeds, args.seed)
        name = f"true_model_mpc_{group}_{label}"
        write_result(os.path.join(RESULTS, name + ".json"), {
            "env": env_name, "algorithm": f"{label} MPC, true model",
            "config": {"env_kwargs": env_kwargs, "planner": config},
            "seeds": args.seeds, "env_steps": [0],
            "eval_returns": [[float(r)] for r in returns],
            "episode_lengths": lengths.tolist(), "mean_return": float(returns.mean()),
            "wall_time_s": wall, "device": device, "jax": jax.__version__,
        }, markdown)
        rows = by_group.setdefault(group, [])
        if not rows:
            base_returns, _, _ = run(env, jwm.agents.random_planner(env.action_space), args.seeds, args.seed)
            rows.append({"label": "random actions", "returns": base_returns.tolist(), "env": env_name})
        rows.append({"label": label, "returns": returns.tolist(), "env": env_name})
        tqdm.write(f"{env_name:28s} {label:16s} mean return {returns.mean():9.2f} "
                   f"(min {returns.min():.1f}, max {returns.max():.1f}) in {wall:.1f} s")
    for group, rows in by_group.items():
        plot(group, rows, os.path.join(RESULTS, f"true_model_mpc_{group}.png"))
        write_result(os.path.join(RESULTS, f"true_model_mpc_{group}_summary.json"),
                     {"env": rows[0]["env"], "seeds": args.seeds, "device": device,
                      "mean_returns": {r["label"]: float(np.mean(r["returns"])) for r in rows}},
                     markdown)


if __name__ == "__main__":
    main()
