"""The ``jwm`` command.

``jwm pets|svg|dreamer|muzero|alphazero`` trains an agent from its recipe (`jwm.recipes`) through
`jwm.train`: seeds vmapped in one program, a progress bar, checkpoints in
``--checkpoint-dir`` (re-running the same command resumes, also after ``kill -9``;
Ctrl-C checkpoints and writes the results so far), a results JSON (``--out``) and a
learning-curve PNG beside it.

``jwm plan`` runs MPC with the simulator itself as the model, vmapped over seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

__all__ = ["main", "build_planner"]

PLANNERS = ("cem", "icem", "gradient", "mppi", "random", "mcts")
INTERRUPTED = 130  # the shell's code for a run stopped by SIGINT


def build_planner(name: str, model, action_space, *, horizon: int, population: int,
                  iterations: int, elite_frac: float, temperature: float,
                  simulations: int = 64, rule: str = "uct", rollouts: int = 8,
                  learning_rate: float = 0.1, restarts: int = 8):
    """The planner called ``name`` with the command's hyperparameters (MCTS evaluates
    leaves by the best of ``rollouts`` random rollouts of ``horizon`` steps; iCEM draws
    ``population`` sequences in its first iteration, fewer later; the gradient planner
    takes ``iterations`` Adam steps of ``learning_rate`` on ``restarts`` sequences)."""
    from jwm import planners

    if name == "cem":
        return planners.cem(model, action_space, horizon=horizon, population=population,
                            elite_frac=elite_frac, iterations=iterations)
    if name == "icem":
        from jwm.planners.icem import icem

        return icem(model, action_space, horizon=horizon, population=population,
                    elite_frac=elite_frac, iterations=iterations)
    if name == "gradient":
        from jwm.planners.gradient import gradient

        return gradient(model, action_space, horizon=horizon, iterations=iterations,
                        learning_rate=learning_rate, restarts=restarts)
    if name == "mppi":
        return planners.mppi(model, action_space, horizon=horizon, population=population,
                             iterations=iterations, temperature=temperature)
    if name == "random":
        return planners.random_shooting(model, action_space, horizon=horizon,
                                        population=population)
    if name == "mcts":
        return planners.mcts(model, action_space, num_simulations=simulations, rule=rule,
                             rollout_depth=horizon, num_rollouts=rollouts,
                             rollout_aggregate="max")
    raise ValueError(f"planner must be one of {PLANNERS}, got {name!r}")


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each flag's default, except where there is none to show."""

    def _get_help_string(self, action):
        default = action.default
        if default is None or default is False or default == [] or default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


# Shortcut flags of each agent: (flag, config path, type, help). The default shown is
# the recipe's base value; an environment's own settings may differ (see --show-config).
SHORTCUTS = {
    "pets": [("--episodes", "episodes", int, "episodes per run, the random warm-up included"),
             ("--steps", "steps_per_episode", int, "env steps per episode (None: the env's limit)"),
             ("--horizon", "planner.horizon", int, "CEM planning horizon"),
             ("--population", "planner.population", int, "CEM population"),
             ("--epochs", "fit.epochs", int, "training epochs per refit")],
    "svg": [("--episodes", "episodes", int, "rounds per run, the random warm-up included"),
            ("--steps", "steps_per_episode", int, "env steps per episode (None: the env's limit)"),
            ("--updates", "updates_per_episode", int, "learner updates per round"),
            ("--model", "model_kind", str, "ensemble | mlp | true (the simulator)"),
            ("--horizon", "learner.horizon", int, "imagination horizon")],
    "dreamer": [("--steps", "loop.total_steps", int, "env steps after the prefill"),
                ("--eval-every", "loop.eval_every", int, "env steps per iteration"),
                ("--horizon", "behavior.horizon", int, "imagination horizon")],
    "muzero": [("--steps", "loop.total_steps", int, "env steps after the prefill"),
               ("--eval-every", "loop.eval_every", int, "env steps per iteration"),
               ("--simulations", "loop.num_simulations", int, "simulations per search"),
               ("--search", "loop.search", str, "gumbel | puct"),
               ("--reanalyse", "loop.reanalyse_fraction", float,
                "fraction of each batch re-searched for fresh policy targets")],
    "alphazero": [("--steps", "loop.total_steps", int, "self-play plies"),
                  ("--eval-every", "loop.eval_every", int, "plies per iteration"),
                  ("--simulations", "loop.num_simulations", int, "simulations per search"),
                  ("--search", "loop.search", str, "gumbel | puct")],
}


def _lookup(config: dict, path: str):
    for part in path.split("."):
        config = config[part]
    return config


def _parser() -> argparse.ArgumentParser:
    from jwm.recipes import RECIPES

    parser = argparse.ArgumentParser(prog="jwm", description=__doc__.split("\n\n")[0],
                                     formatter_class=_Formatter)
    sub = parser.add_subparsers(dest="command", required=True)
    plan = sub.add_parser("plan", help="true-model MPC on an environment, vmapped over seeds",
                          formatter_class=_Formatter)
    plan.add_argument("--env", default="gymnax:Pendulum-v1", help="'gymnax:<id>' or 'brax:<name>'")
    plan.add_argument("--planner", choices=PLANNERS, default="cem")
    plan.add_argument("--seeds", type=int, default=4, help="episodes run in parallel (vmap)")
    plan.add_argument("--seed", type=int, default=0, help="base PRNG seed")
    plan.add_argument("--horizon", type=int, default=30, help="plan length (MCTS: rollout depth)")
    plan.add_argument("--population", type=int, default=500, help="CEM, iCEM, MPPI, random")
    plan.add_argument("--iterations", type=int, default=5,
                      help="CEM, iCEM, MPPI; gradient: Adam steps")
    plan.add_argument("--elite-frac", type=float, default=0.1, help="CEM")
    plan.add_argument("--temperature", type=float, default=1.0, help="MPPI")
    plan.add_argument("--learning-rate", type=float, default=0.1,
                      help="gradient: Adam step in half-ranges of the action box")
    plan.add_argument("--restarts", type=int, default=8, help="gradient: random restarts")
    plan.add_argument("--simulations", type=int, default=64, help="MCTS simulations per step")
    plan.add_argument("--rule", choices=("uct", "puct", "gumbel"), default="uct", help="MCTS")
    plan.add_argument("--rollouts", type=int, default=8,
                      help="MCTS: random rollouts per leaf, the best one counts")
    plan.add_argument("--steps", type=int, default=None,
                      help="env steps per episode (None: the env's time limit)")
    plan.add_argument("--backend", default=None, help="brax pipeline, e.g. 'positional'")
    plan.add_argument("--json", default=None, metavar="PATH", help="also write results here")
    plan.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    for name, recipe in RECIPES.items():
        learn = sub.add_parser(name, help=f"train {recipe.algorithm}",
                               formatter_class=_Formatter,
                               description=f"Train {recipe.algorithm} through jwm.train.")
        learn.add_argument("--env", default=recipe.default_env, help="a 'gymnax:<id>' env")
        learn.add_argument("--seeds", type=int, default=2, help="runs in parallel (vmap)")
        learn.add_argument("--seed", type=int, default=0, help="base PRNG seed")
        for flag, path, kind, text in SHORTCUTS[name]:
            learn.add_argument(flag, type=kind, default=None, dest="shortcut:" + path,
                               metavar=kind.__name__.upper(),
                               help=f"{text}; --set {path}=VALUE (default: "
                                    f"{_lookup(recipe.defaults, path)}, or the env's own)")
        learn.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                           help="any recipe setting, e.g. --set fit.batch_size=64 (VALUE is "
                                "JSON, or a string); unknown keys are errors")
        learn.add_argument("--iterations", type=int, default=None,
                           help="iterations to reach (None: the recipe's run length); larger "
                                "than a finished run's continues it")
        learn.add_argument("--checkpoint-dir", default=None, metavar="DIR",
                           help="checkpoints and metrics.jsonl; the same command resumes")
        learn.add_argument("--checkpoint-every", type=int, default=10, metavar="N",
                           help="iterations between checkpoints")
        learn.add_argument("--keep", type=int, default=3, help="checkpoints kept")
        learn.add_argument("--out", default=None, metavar="FILE",
                           help="results JSON (None: results/<agent>_<env>.json); a PNG "
                                "goes beside it")
        learn.add_argument("--tensorboard", default=None, metavar="DIR",
                           help="also log every metric to TensorBoard (needs tensorboardX)")
        learn.add_argument("--show-config", action="store_true",
                           help="print the resolved settings as JSON and exit")
        learn.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _add_sweep_parser(sub)
    return parser


def _add_sweep_parser(sub) -> None:
    sweep = sub.add_parser("sweep", formatter_class=_Formatter,
                           help="configurations × seeds of an agent in one program per "
                                "group of shapes, over every device",
                           description="Run the sweep a TOML or YAML file describes (see "
                                       "docs/sweeps.md) through jwm.sweep.")
    sweep.add_argument("file", help="the sweep's .toml, .yaml or .yml file")
    sweep.add_argument("--devices", type=int, default=None,
                       help="shard the runs over the first N devices (default: all)")
    sweep.add_argument("--out", default=None, metavar="DIR",
                       help="the table, summary and plots (default: results/sweeps)")
    sweep.add_argument("--checkpoint-dir", default=None, metavar="DIR",
                       help="checkpoints; the same command resumes a killed sweep")
    sweep.add_argument("--checkpoint-every", type=int, default=10, metavar="N")
    sweep.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                       help="several hosts: jax.distributed's coordinator (process 0)")
    sweep.add_argument("--num-processes", type=int, default=None)
    sweep.add_argument("--process-id", type=int, default=None)
    sweep.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _sweep(args) -> int:
    import jax

    from jwm.sweeps.files import sweep_file

    if args.coordinator is not None:
        jax.distributed.initialize(coordinator_address=args.coordinator,
                                   num_processes=args.num_processes,
                                   process_id=args.process_id)
    result, spec = sweep_file(args.file, devices=args.devices,
                              checkpoint_dir=args.checkpoint_dir,
                              checkpoint_every=args.checkpoint_every,
                              progress=not args.no_progress)
    name = spec.get("name") or os.path.splitext(os.path.basename(args.file))[0]
    paths = result.write(args.out or os.path.join("results", "sweeps"), name,
                         threshold=spec.get("threshold"))
    if jax.process_index() == 0:
        print(f"{len(result.configs)} configurations × {result.seeds} seeds in "
              f"{result.num_groups} program(s) on {len(result.devices)} device(s); "
              f"{result.wall_time_s:.1f} s")
        for entry in result.summary(spec.get("threshold")):
            values = {k: entry[k] for k in result.configs[0]}
            low, high = entry["final_return_ci95"]
            print(f"  {values}: final return {entry['final_return_mean']:.1f} "
                  f"(95% CI {low:.1f} to {high:.1f})")
        print("wrote " + ", ".join(paths.values()))
    return 0


def _overrides(args) -> dict:
    """``--set`` and shortcut flags as one nested dict of recipe overrides."""
    from jwm.recipes.base import deep_update, dotted

    overrides: dict = {}
    for item in args.set:
        if "=" not in item:
            raise ValueError(f"--set takes KEY=VALUE, got {item!r}")
        path, text = item.split("=", 1)
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        overrides = deep_update(overrides, dotted(path.strip(), value))
    for dest, value in vars(args).items():
        if dest.startswith("shortcut:") and value is not None:
            overrides = deep_update(overrides, dotted(dest[len("shortcut:"):], value))
    return overrides


def _learn(args) -> int:
    from jwm import runs, training
    from jwm.atomic import write_json
    from jwm.recipes import RECIPES, run_recipe

    recipe = RECIPES[args.command]
    overrides = _overrides(args)
    if args.show_config:
        print(json.dumps(recipe.config(args.env, overrides), indent=2))
        return 0
    out = args.out or os.path.join("results", f"{recipe.name}_{args.env.split(':')[-1]}.json")
    if not out.endswith(".json"):
        raise ValueError(f"--out must name a .json file, got {out!r}")
    log = training.tensorboard(args.tensorboard) if args.tensorboard else None
    _, result, record = run_recipe(
        recipe, args.env, seeds=args.seeds, seed=args.seed, overrides=overrides,
        iterations=args.iterations, checkpoint_dir=args.checkpoint_dir,
        checkpoint_every=args.checkpoint_every, keep=args.keep,
        progress=not args.no_progress, log=log)
    if record is None:
        print("jwm: interrupted before the first iteration finished; nothing to write",
              file=sys.stderr)
        return INTERRUPTED
    _print_table(recipe, record)
    write_json(out, record)
    png = out[:-len(".json")] + ".png"
    runs.plot_learning_curves(record, png)
    print(f"wrote {out} and {png}")
    if result.resumed_from is not None:
        print(f"resumed from the checkpoint of iteration {result.resumed_from}")
    if result.interrupted:
        print(f"interrupted after iteration {result.iterations}: the results so far are "
              f"written" + ("; run the same command to resume" if args.checkpoint_dir else ""),
              file=sys.stderr)
        return INTERRUPTED
    return 0


def _print_table(recipe, record: dict) -> None:
    import numpy as np

    returns = np.asarray([[np.nan if r is None else r for r in row]
                          for row in record["eval_returns"]], np.float64)
    random = record["metrics"].get("random")
    print(f"\n{recipe.algorithm} on {record['env']}: evaluation return per iteration")
    header = "".join(f"  seed {i:>2}" for i in range(record["seeds"]))
    print(f"{'iter':>5} {'env steps':>9} {'mean':>9}{header}")
    for k, (steps, row) in enumerate(zip(record["env_steps"], returns.T)):
        tag = " (random)" if random is not None and random[0][k] else ""
        print(f"{k + 1:>5} {steps:>9d} {np.nanmean(row):>9.1f}"
              + "".join(f"{r:>9.1f}" for r in row) + tag)
    line = (f"final mean return {np.nanmean(returns[:, -1]):.1f}; wall time "
            f"{record['wall_time_s']:.1f} s including compilation ({record['device']})")
    if record["num_nonfinite"]:
        line += f"; WARNING: {record['num_nonfinite']} non-finite planned returns discarded"
    print(line)


def _plan(args) -> int:
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
                            elite_frac=args.elite_frac, temperature=args.temperature,
                            simulations=args.simulations, rule=args.rule,
                            rollouts=args.rollouts, learning_rate=args.learning_rate,
                            restarts=args.restarts)
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
    print(f"\n{args.planner} MPC on {args.env} with the true model (horizon {args.horizon})")
    print(f"{'seed':>4}  {'return':>10}  {'length':>6}  {'non-finite':>10}")
    for i, (r, n, bad) in enumerate(zip(returns, lengths, nonfinite)):
        print(f"{i:>4}  {r:>10.2f}  {n:>6d}  {bad:>10d}")
    print(f"mean return {returns.mean():.2f} +- {returns.std():.2f} over {args.seeds} seeds; "
          f"wall time {wall:.1f} s including compilation, {jax.devices()[0].platform}")
    summary = {
        "env": args.env, "algorithm": f"{args.planner}-mpc-true-model",
        "config": {k: v for k, v in vars(args).items() if k not in ("json", "command")},
        "seeds": args.seeds, "returns": returns.tolist(), "lengths": lengths.tolist(),
        "num_nonfinite": nonfinite.tolist(), "mean_return": float(returns.mean()),
        "wall_time_s": wall, "device": str(jax.devices()[0]),
    }
    if args.json:
        from jwm.atomic import write_json

        write_json(args.json, summary)
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        command = {"plan": _plan, "sweep": _sweep}.get(args.command, _learn)
        return command(args)
    except (ValueError, TypeError) as e:
        print(f"jwm: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
