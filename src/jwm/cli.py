"""The ``jwm`` command.

``jwm pets --env gymnax:Pendulum-v1 --seeds 2`` trains PETS (CEM-MPC on a learned
probabilistic ensemble) for several seeds as one jitted, vmapped program, with a
progress bar over episodes; it prints a results table and writes the results JSON and
a learning-curve PNG.

``jwm plan --env gymnax:Pendulum-v1 --planner cem --seeds 4`` runs true-model MPC for
several seeds as one jitted, vmapped program, with a progress bar over env steps, and
prints a per-seed summary.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

__all__ = ["main", "build_planner"]

PLANNERS = ("cem", "mppi", "random")


def build_planner(name: str, model, action_space, *, horizon: int, population: int,
                  iterations: int, elite_frac: float, temperature: float):
    """The planner called ``name`` with the CLI's hyperparameters."""
    from jwm import planners

    if name == "cem":
        return planners.cem(model, action_space, horizon=horizon, population=population,
                            elite_frac=elite_frac, iterations=iterations)
    if name == "mppi":
        return planners.mppi(model, action_space, horizon=horizon, population=population,
                             iterations=iterations, temperature=temperature)
    if name == "random":
        return planners.random_shooting(model, action_space, horizon=horizon,
                                        population=population)
    raise ValueError(f"planner must be one of {PLANNERS}, got {name!r}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jwm", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    plan = sub.add_parser("plan", help="true-model MPC on an environment, vmapped over seeds")
    plan.add_argument("--env", default="gymnax:Pendulum-v1",
                      help="'gymnax:<id>' or 'brax:<name>' (default: %(default)s)")
    plan.add_argument("--planner", choices=PLANNERS, default="cem")
    plan.add_argument("--seeds", type=int, default=4, help="episodes run in parallel (vmap)")
    plan.add_argument("--seed", type=int, default=0, help="base PRNG seed")
    plan.add_argument("--horizon", type=int, default=30)
    plan.add_argument("--population", type=int, default=500)
    plan.add_argument("--iterations", type=int, default=5)
    plan.add_argument("--elite-frac", type=float, default=0.1, help="CEM only")
    plan.add_argument("--temperature", type=float, default=1.0, help="MPPI only")
    plan.add_argument("--steps", type=int, default=None,
                      help="env steps per episode (default: the env's time limit)")
    plan.add_argument("--backend", default=None, help="brax pipeline, e.g. 'positional'")
    plan.add_argument("--json", default=None, metavar="PATH", help="also write results here")
    plan.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    learn = sub.add_parser("pets", help="train PETS on an environment, vmapped over seeds")
    learn.add_argument("--env", default="gymnax:Pendulum-v1",
                       help="a 'gymnax:<id>' env with vector observations (default: %(default)s)")
    learn.add_argument("--seeds", type=int, default=2, help="runs in parallel (vmap)")
    learn.add_argument("--seed", type=int, default=0, help="base PRNG seed")
    learn.add_argument("--episodes", type=int, default=None,
                       help="episodes per run, the random warm-up included (default: 10)")
    learn.add_argument("--steps", type=int, default=None, help="env steps per episode")
    learn.add_argument("--horizon", type=int, default=None, help="CEM planning horizon")
    learn.add_argument("--population", type=int, default=None, help="CEM population")
    learn.add_argument("--epochs", type=int, default=None, help="training epochs per refit")
    learn.add_argument("--out", default="results", metavar="DIR",
                       help="where pets_<env>.json and .png go (default: %(default)s)")
    learn.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def _pets(args) -> dict:
    import numpy as np

    from jwm import runs

    given = lambda **kw: {k: v for k, v in kw.items() if v is not None}
    record = runs.run_pets(args.env, seeds=args.seeds, seed=args.seed, episodes=args.episodes,
                           steps_per_episode=args.steps, show_progress=not args.no_progress,
                           planner=given(horizon=args.horizon, population=args.population),
                           fit=given(epochs=args.epochs))
    returns = np.asarray(record["eval_returns"])
    steps = record["env_steps"]
    config = record["config"]
    print(f"\nPETS on {args.env}: ensemble of {config['model']['ensemble_size']} "
          f"x {config['model']['hidden_sizes']}, {config['model']['particles']} particles "
          f"({config['model'].get('propagation', 'ts_inf')}), CEM horizon "
          f"{config['planner']['horizon']} x population {config['planner']['population']}")
    header = "".join(f"  seed {i:>2}" for i in range(args.seeds))
    print(f"{'episode':>7} {'env steps':>9} {'mean':>9}{header}")
    for k, (n, row) in enumerate(zip(steps, returns.T)):
        tag = " (random)" if record["random_episode"][k] else ""
        print(f"{k + 1:>7} {n:>9d} {row.mean():>9.1f}" + "".join(f"{r:>9.1f}" for r in row) + tag)
    print(f"final mean return {returns[:, -1].mean():.1f}; wall time {record['wall_time_s']:.1f} s "
          f"including compilation ({record['device']})")
    name = "pets_" + args.env.split(":")[-1]
    json_path = os.path.join(args.out, name + ".json")
    png_path = os.path.join(args.out, name + ".png")
    runs.write_json(json_path, record)
    runs.plot_learning_curves(record, png_path)
    print(f"wrote {json_path} and {png_path}")
    return record


def _plan(args) -> dict:
    import jax
    import numpy as np
    from tqdm.auto import tqdm

    from jwm import agents, envs, models

    if args.seeds <= 0:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    env_kwargs = {"backend": args.backend} if args.backend else {}
    env = envs.make(args.env, **env_kwargs)
    model = models.true_model(env)
    planner = build_planner(args.planner, model, env.action_space, horizon=args.horizon,
                            population=args.population, iterations=args.iterations,
                            elite_frac=args.elite_frac, temperature=args.temperature)
    num_steps = args.steps or env.max_episode_steps
    if not num_steps:
        raise ValueError(f"--steps is needed: {args.env} has no time limit")

    bar = tqdm(total=num_steps, desc=f"{args.planner} on {args.env} ({args.seeds} seeds)",
               unit="step", disable=args.no_progress, file=sys.stderr)

    def progress(t):
        if bar.n == 0:
            bar.set_postfix_str("running")
        bar.update(1)

    def episode(key):
        return agents.mpc_episode(env, model, planner, (), key, num_steps=num_steps,
                                  progress=progress)

    keys = jax.random.split(jax.random.key(args.seed), args.seeds)
    start = time.perf_counter()
    bar.set_postfix_str("compiling")
    result = jax.block_until_ready(jax.jit(jax.vmap(episode))(keys))
    wall = time.perf_counter() - start
    bar.close()

    returns = np.asarray(result.total_return, dtype=np.float64)
    lengths = np.asarray(result.length)
    nonfinite = np.asarray(result.num_nonfinite.sum(axis=1))
    print(f"\n{args.planner} MPC on {args.env} with the true model "
          f"(horizon {args.horizon}, population {args.population}, "
          f"iterations {args.iterations})")
    print(f"{'seed':>4}  {'return':>10}  {'length':>6}  {'non-finite':>10}")
    for i, (r, n, bad) in enumerate(zip(returns, lengths, nonfinite)):
        print(f"{i:>4}  {r:>10.2f}  {n:>6d}  {bad:>10d}")
    print(f"mean return {returns.mean():.2f} +- {returns.std():.2f} over {args.seeds} seeds; "
          f"wall time {wall:.1f} s including compilation, {jax.devices()[0].platform}")
    summary = {
        "env": args.env, "algorithm": f"{args.planner}-mpc-true-model",
        "config": {k: v for k, v in vars(args).items() if k not in ("json", "command")},
        "seeds": args.seeds, "returns": returns.tolist(), "lengths": lengths.tolist(),
        "mean_return": float(returns.mean()), "wall_time_s": wall,
        "device": str(jax.devices()[0]),
    }
    if args.json:
        from jwm.runs import write_json

        write_json(args.json, summary)
    return summary


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        (_pets if args.command == "pets" else _plan)(args)
    except ValueError as e:
        print(f"jwm: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
