"""jwm: plan with world models in JAX. Train an agent from its recipe, plan with the
simulator itself as the model, or sweep a recipe's settings.

``jwm pets|svg|dreamer|muzero|alphazero`` trains an agent from its recipe (`jwm.recipes`) through
`jwm.train`: seeds vmapped in one program, a progress bar, checkpoints in
``--checkpoint-dir`` (re-running the same command resumes, also after ``kill -9``;
Ctrl-C checkpoints and writes the results so far), a results JSON (``--out``) and a
learning-curve PNG beside it.

``jwm plan`` runs MPC with the simulator itself as the model, vmapped over seeds.

``jwm sweep FILE`` trains configurations × seeds of one agent; ``jwm suite FILE`` runs a
tier of agent × env × budget cells into score files and their table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time

__all__ = ["main"]

# `jwm plan --planner`: the names of jwm.planners.by_name.PLANNERS, here so that the
# command's help imports no jax.
PLANNERS = ("cem", "icem", "gradient", "mppi", "random", "mcts")
INTERRUPTED = 130  # the shell's code for a run stopped by SIGINT
# The environments each command takes (jwm.envs.make names them "<suite>:<name>").
ENV_HELP = {
    "plan": "'gymnax:<id>', 'brax:<name>', 'craftax:<name>', 'navix:<id>' or 'pgx:<game>' "
            "(pgx with --planner mcts)",
    "pets": "'gymnax:<id>' or 'brax:<name>', vector observations",
    "svg": "'gymnax:<id>' or 'brax:<name>', continuous actions",
    "dreamer": "'gymnax:<id>', 'brax:<name>' or 'craftax:<name>'",
    "muzero": "'gymnax:<id>', 'craftax:<name>' or 'navix:<id>' with discrete actions "
              "(image observations included)",
    "alphazero": "a two-player board game, 'pgx:<game>' (e.g. pgx:connect_four)",
}


def _count(low: int):
    """An argparse type: an int >= ``low``, refused by argparse (naming the flag the
    user typed) before anything imports jax."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an int >= {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an int >= {low}, got {value}")
        return value

    parse.__name__ = "int"  # argparse's "invalid int value" wording for a non-number
    return parse


POSITIVE, NON_NEGATIVE = _count(1), _count(0)

# The knobs of `jwm plan`: (flag, type, default, help).
PLAN_KNOBS = [
    ("--seeds", POSITIVE, 4, "episodes run in parallel (vmap)"),
    ("--seed", NON_NEGATIVE, 0, "base PRNG seed"),
    ("--steps", POSITIVE, None, "env steps of the run, one episode (None: the env's time limit)"),
    ("--horizon", POSITIVE, 30, "plan length (MCTS: rollout depth)"),
    ("--population", POSITIVE, 500, "CEM, iCEM, MPPI, random"),
    ("--iterations", POSITIVE, 5, "CEM, iCEM, MPPI; gradient: Adam steps"),
    ("--elite-frac", float, 0.1, "CEM: the share of candidates refitted to"),
    ("--temperature", float, 1.0, "MPPI: the temperature of its weights"),
    ("--learning-rate", float, 0.1, "gradient: Adam step in half-ranges of the action box"),
    ("--restarts", POSITIVE, 8, "gradient: random restarts"),
    ("--simulations", POSITIVE, 64, "MCTS simulations per step"),
    ("--rollouts", POSITIVE, 8, "MCTS: random rollouts per leaf, the best one counts"),
]


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each flag's default, except where there is none to show."""

    def _get_help_string(self, action):
        default = action.default
        if default is None or default is False or default == [] or default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


# Shortcut flags of each agent: (flag, config path, type, help). The default shown is
# the recipe's base value; an environment's own settings may differ (see --show-config).
STEPS = ("--steps", "loop.total_steps", int, "env steps of the run, the prefill included")
EVAL_EVERY = ("--eval-every", "loop.eval_every", int, "env steps between evaluations")
SHORTCUTS = {
    "pets": [STEPS,
             ("--horizon", "planner.horizon", int, "CEM planning horizon"),
             ("--population", "planner.population", int, "CEM population"),
             ("--epochs", "loop.fit_epochs", int, "training epochs per refit")],
    "svg": [STEPS,
            ("--updates", "loop.updates_per_episode", int, "learner updates per episode"),
            ("--model", "model.kind", str, "ensemble | mlp | true (the simulator)"),
            ("--horizon", "learner.horizon", int, "imagination horizon")],
    "dreamer": [STEPS, EVAL_EVERY,
                ("--horizon", "learner.horizon", int, "imagination horizon")],
    "muzero": [STEPS, EVAL_EVERY,
               ("--simulations", "search.num_simulations", int, "simulations per search"),
               ("--search", "search.rule", str, "gumbel | puct"),
               ("--reanalyse", "loop.reanalyse_fraction", float,
                "fraction of each batch re-searched for fresh policy targets")],
    "alphazero": [("--steps", "loop.total_steps", int,
                   "self-play plies of the run, the prefill included"),
                  ("--eval-every", "loop.eval_every", int, "plies between evaluations"),
                  ("--simulations", "search.num_simulations", int, "simulations per search"),
                  ("--search", "search.rule", str, "gumbel | puct")],
}


def _lookup(config: dict, path: str):
    for part in path.split("."):
        config = config[part]
    return config


def _parser() -> argparse.ArgumentParser:
    from jwm.recipes import RECIPES

    from jwm import __version__

    parser = argparse.ArgumentParser(prog="jwm", description=__doc__.split("\n\n")[0],
                                     formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"jwm {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    plan = sub.add_parser("plan", help="true-model MPC on an environment, vmapped over seeds",
                          formatter_class=_Formatter,
                          description="Model-predictive control with the simulator itself as "
                                      "the world model:\none planner, one episode per seed, "
                                      "the seeds vmapped in one program.")
    plan.add_argument("--env", default="gymnax:Pendulum-v1", help=ENV_HELP["plan"])
    plan.add_argument("--planner", choices=PLANNERS, default="cem",
                      help="random shooting, CEM, iCEM, MPPI, gradient shooting or MCTS")
    for flag, kind, default, text in PLAN_KNOBS:
        plan.add_argument(flag, type=kind, default=default,
                          metavar="X" if kind is float else "N", help=text)
    plan.add_argument("--rule", choices=("uct", "puct", "gumbel"), default="uct",
                      help="MCTS's selection rule")
    plan.add_argument("--backend", default=None, metavar="NAME",
                      help="brax pipeline, e.g. 'positional'")
    plan.add_argument("--json", default=None, metavar="PATH", help="also write results here")
    plan.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    for name, recipe in RECIPES.items():
        learn = sub.add_parser(name, help=f"train {recipe.algorithm}",
                               formatter_class=_Formatter,
                               description=f"Train {recipe.algorithm} through jwm.train.")
        learn.add_argument("--env", default=recipe.default_env, help=ENV_HELP[name])
        learn.add_argument("--seeds", type=POSITIVE, default=2, metavar="N",
                           help="runs in parallel (vmap)")
        learn.add_argument("--seed", type=NON_NEGATIVE, default=0, metavar="N",
                           help="base PRNG seed")
        for flag, path, kind, text in SHORTCUTS[name]:
            learn.add_argument(flag, type=POSITIVE if kind is int else kind, default=None,
                               dest="shortcut:" + path,
                               metavar={int: "N", float: "X", str: "NAME"}[kind],
                               help=f"{text}; --set {path}=VALUE (default: "
                                    f"{_lookup(recipe.defaults, path)}, or the env's own)")
        learn.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                           help="any recipe setting, e.g. --set loop.capacity=50000 (VALUE is "
                                "JSON, or a string); unknown keys are errors")
        learn.add_argument("--iterations", type=POSITIVE, default=None, metavar="N",
                           help="iterations to reach (None: the recipe's run length); larger "
                                "than a finished run's continues it")
        learn.add_argument("--checkpoint-dir", default=None, metavar="DIR",
                           help="checkpoints and metrics.jsonl; the same command resumes")
        learn.add_argument("--checkpoint-every", type=POSITIVE, default=10, metavar="N",
                           help="iterations between checkpoints")
        learn.add_argument("--keep", type=POSITIVE, default=3, metavar="N",
                           help="checkpoints kept")
        learn.add_argument("--out", default=None, metavar="FILE",
                           help="results JSON (None: results/<agent>_<env>.json); a PNG "
                                "goes beside it")
        learn.add_argument("--tensorboard", default=None, metavar="DIR",
                           help="also log every metric to TensorBoard (needs tensorboardX)")
        learn.add_argument("--show-config", action="store_true",
                           help="print the resolved settings as JSON and exit")
        learn.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _add_sweep_parser(sub)
    _add_suite_parser(sub)
    return parser


def _add_suite_parser(sub) -> None:
    suite = sub.add_parser("suite", formatter_class=_Formatter,
                           help="a tier of a suite file's agent × env × budget cells, cell "
                                "by cell, into score files and a table",
                           description="Run one tier of a suite file (see jwm.suites.spec): "
                                       "each cell a jwm.train run with its own checkpoints, "
                                       "so a killed suite resumes cell by cell; then the "
                                       "table and plots from the score files.")
    suite.add_argument("file", help="the suite's .toml, .yaml or .yml file")
    suite.add_argument("--tier", default="smoke", help="the tier to run")
    suite.add_argument("--out", default=None, metavar="DIR",
                       help="scores, table and plots (default: results/suites/<name>/<tier>)")
    suite.add_argument("--checkpoint-dir", default=None, metavar="DIR",
                       help="the cells' checkpoints (default: <out>/checkpoints)")
    suite.add_argument("--checkpoint-every", type=POSITIVE, default=10, metavar="N",
                       help="iterations between checkpoints")
    suite.add_argument("--only", default=None, metavar="TEXT",
                       help="run just the cells whose id contains TEXT")
    suite.add_argument("--devices", type=POSITIVE, default=None, metavar="N",
                       help="shard each cell's seeds over the first N devices (default: 1)")
    suite.add_argument("--list", action="store_true",
                       help="print the tier's cells and whether each is finished, and exit")
    suite.add_argument("--table-only", action="store_true",
                       help="write the table and plots from the score files, run nothing")
    suite.add_argument("--no-progress", action="store_true", help="hide the progress bars")


def _suite(args) -> int:
    from jwm.suites import load_suite, run_suite, tier_cells
    from jwm.suites.cell import cell_record
    from jwm.suites.run import write_table

    suite = load_suite(args.file)
    out = args.out or os.path.join("results", "suites", suite.name, args.tier)
    scores = os.path.join(out, "scores")
    if args.list:
        for cell in tier_cells(suite, args.tier):
            record = cell_record(scores, cell)
            print(f"{'done   ' if record else 'pending'} {cell.id}"
                  + (f"  ({cell.command()})" if cell.command() else ""))
        return 0
    if args.table_only:
        print(f"wrote {write_table(suite, scores, out, tier=args.tier)}")
        return 0
    devices = None
    if args.devices:
        from jwm.sweeps.run import sweep_devices

        devices = sweep_devices(args.devices)
    result = run_suite(args.file, args.tier, out=out, checkpoint_dir=args.checkpoint_dir,
                       only=args.only, devices=devices,
                       checkpoint_every=args.checkpoint_every, progress=not args.no_progress)
    for cell, reason in result["skipped"].items():
        print(f"not run: {cell}: {reason}")
    if result["interrupted"]:
        print("interrupted: run the same command to resume", file=sys.stderr)
        return INTERRUPTED
    for cell, error in result["failed"].items():
        print(f"FAILED: {cell}: {error}", file=sys.stderr)
    before = sum(bool(r.get("skipped")) for r in result["cells"])
    print(f"{len(result['cells'])} cells finished ({before} before this run); scores in "
          f"{result['scores']}"
          + (f"; table {result['table']}" if "table" in result else ""))
    return 1 if result["failed"] else 0


def _add_sweep_parser(sub) -> None:
    sweep = sub.add_parser("sweep", formatter_class=_Formatter,
                           help="configurations × seeds of an agent in one program per "
                                "group of shapes, over every device",
                           description="Run the sweep a TOML or YAML file describes (see "
                                       "docs/sweeps.md) through jwm.sweep.")
    sweep.add_argument("file", help="the sweep's .toml, .yaml or .yml file")
    sweep.add_argument("--devices", type=POSITIVE, default=None, metavar="N",
                       help="shard the runs over the first N devices (default: all)")
    sweep.add_argument("--out", default=None, metavar="DIR",
                       help="the table, summary and plots (default: results/sweeps)")
    sweep.add_argument("--checkpoint-dir", default=None, metavar="DIR",
                       help="checkpoints; the same command resumes a killed sweep")
    sweep.add_argument("--checkpoint-every", type=POSITIVE, default=10, metavar="N",
                       help="iterations between checkpoints")
    sweep.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                       help="several hosts: jax.distributed's coordinator (process 0)")
    sweep.add_argument("--num-processes", type=POSITIVE, default=None, metavar="N",
                       help="several hosts: how many processes run the sweep together")
    sweep.add_argument("--process-id", type=NON_NEGATIVE, default=None, metavar="N",
                       help="several hosts: this process's index, 0 to N-1")
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
    from jwm.recipes.base import deep_update, dotted, parse_settings

    overrides = parse_settings(args.set)
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
    from jwm.device import device_name
    from jwm.planners.by_name import build_planner

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
          f"wall time {wall:.1f} s including compilation ({device_name()})")
    summary = {
        "env": args.env, "algorithm": f"{args.planner}-mpc-true-model",
        "config": {k: v for k, v in vars(args).items() if k not in ("json", "command")},
        "seeds": args.seeds, "returns": returns.tolist(), "lengths": lengths.tolist(),
        "num_nonfinite": nonfinite.tolist(), "mean_return": float(returns.mean()),
        "wall_time_s": wall, "device": device_name(),
    }
    if args.json:
        from jwm.atomic import write_json

        write_json(args.json, summary)
    return 0


def _flags_named(command: str, message: str) -> str:
    """The shortcut flags of ``command`` whose settings ``message`` names, as a hint:
    a check deep in an agent names its parameter, the user typed a flag."""
    names = [(path.split(".")[-1], flag) for flag, path, _, _ in SHORTCUTS.get(command, ())]
    found = [f"{name} is {flag}" for name, flag in names
             if re.search(rf"\b{re.escape(name)}\b", message)]
    return f"\n(jwm {command}: {', '.join(found)})" if found else ""


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        command = {"plan": _plan, "sweep": _sweep, "suite": _suite}.get(args.command, _learn)
        return command(args)
    except (ValueError, TypeError) as e:
        print(f"jwm: error: {e}{_flags_named(args.command, str(e))}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
