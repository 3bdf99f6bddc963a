"""Running one cell of a suite: a recipe through `jwm.train` (seeds vmapped in one
program, sharded over the devices when there are several), a model-free baseline as
one program, or random actions; each writes its score file, then its record (the
record says the cell is finished)."""

from __future__ import annotations

import json
import os

import numpy as np

from jwm.atomic import write_json
from jwm.recipes.base import deep_update
from jwm.scores.format import config_hash, score_row, write_scores
from jwm.suites.scores_log import ScoreLog
from jwm.suites.spec import BASELINES, Cell

__all__ = ["cell_config", "cell_record", "run_cell", "run_random", "total_wall"]


def cell_config(cell: Cell) -> dict:
    """The cell's resolved settings: the recipe's for its env with the overrides and
    ``loop.total_steps = steps`` (a baseline's: its own configuration)."""
    if cell.agent in BASELINES:
        from jwm.baselines import baseline_config

        return baseline_config(cell.agent, cell.env, total_timesteps=cell.steps,
                               **cell.overrides)
    from jwm.recipes import RECIPES

    return RECIPES[cell.agent].config(
        cell.env, deep_update(cell.overrides, {"loop": {"total_steps": cell.steps}}))


def _identity(cell: Cell, config: dict) -> str:
    return config_hash({"config": config, "seeds": cell.seeds, "seed": cell.seed})


def _fields(cell: Cell, suite: str, digest: str) -> dict:
    import jax

    from jwm import __version__
    from jwm.device import device_name

    return {"agent": cell.agent, "env": cell.env, "device": device_name(), "jwm": __version__,
            "jax": jax.__version__, "config_hash": digest, "suite": suite, "cell": cell.id}


def cell_record(scores_dir: str, cell: Cell) -> dict | None:
    """The record of a finished cell, or None."""
    path = os.path.join(scores_dir, cell.id + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def run_cell(cell: Cell, *, suite: str, scores_dir: str, checkpoint_dir: str,
             devices=None, checkpoint_every: int = 10, progress: bool = True) -> dict:
    """Runs ``cell`` unless its record says it finished with the same settings;
    returns its record (``status`` ``"done"``, or ``"interrupted"`` after Ctrl-C,
    which is not written: the next run resumes from the checkpoint).

    Raises:
      ValueError: the folders hold this cell with other settings (nothing is
        overwritten), or the cell's settings are refused by the agent.
    """
    config = cell_config(cell)
    digest = _identity(cell, config)
    done = cell_record(scores_dir, cell)
    if done is not None:
        if done["config_hash"] != digest:
            raise ValueError(f"{scores_dir}/{cell.id}.json holds this cell with other "
                             f"settings (config hash {done['config_hash']}, now {digest})")
        return dict(done, skipped=True)
    fields = _fields(cell, suite, digest)
    path = os.path.join(scores_dir, cell.id + ".jsonl")
    if cell.agent in BASELINES:
        wall, iterations = _run_baseline(cell, config, path, fields)
        interrupted = False
    else:
        wall, iterations, interrupted = _run_recipe(
            cell, config, ScoreLog(path, fields, cell.seeds),
            os.path.join(checkpoint_dir, cell.id), devices, checkpoint_every, progress)
    record = {"cell": cell._asdict(), "command": cell.command(), "config": config,
              "config_hash": digest, "status": "interrupted" if interrupted else "done",
              "iterations": iterations, "wall_time_s_this_session": wall,
              "wall_time_s": total_wall(path, wall),
              "device": fields["device"], "jwm": fields["jwm"], "jax": fields["jax"]}
    if not interrupted:
        write_json(os.path.join(scores_dir, cell.id + ".json"), record)
    return record


def total_wall(path: str, session: float) -> float:
    """The run's wall time over all its sessions: its score file's last wall time
    (which sums them), or this session's."""
    from jwm.scores.format import read_scores

    walls = [r["wall_time_s"] for r in read_scores(path) if r["wall_time_s"] is not None] \
        if os.path.exists(path) else []
    return max(walls, default=session)


def _run_recipe(cell, config, log, directory, devices, checkpoint_every, progress):
    import jax

    from jwm.recipes import RECIPES
    from jwm.training import train

    agent = RECIPES[cell.agent].agent(config)
    key = jax.random.key(cell.seed)
    options = dict(checkpoint_dir=directory, checkpoint_every=checkpoint_every,
                   progress=progress, log=log, config={"suite_cell": cell.id})
    if devices is None or len(devices) == 1:
        result = train(agent, key, seeds=cell.seeds, **options)
    else:
        from jax.sharding import Mesh, NamedSharding, PartitionSpec

        from jwm.sweeps.program import group_agent

        # The seeds as the run axis of a sweep of one configuration: each device runs
        # its share with the single-device program (`group_agent`'s shard_map).
        mesh = Mesh(np.array(devices), ("runs",))
        batched, _ = group_agent(lambda: agent, {}, {}, cell.seeds, mesh=mesh,
                                 name=f"suite:{cell.id}")
        result = train(batched, key, sharding=NamedSharding(mesh, PartitionSpec("runs")),
                       **options)
    if result.metrics is not None:
        from jwm.training.pytrees import flat_metrics

        flat = flat_metrics(result.metrics)
        steps, returns = flat["env_steps"], flat["eval_return"]
        if cell.seeds > 1 and (devices is None or len(devices) == 1):
            steps, returns = steps.T, returns.T  # train stacks [seeds, iterations]
        log.finish(steps, returns)
    return result.wall_time_s, result.iterations, result.interrupted


def _run_baseline(cell, config, path, fields):
    from jwm.baselines import run_baseline

    record = run_baseline(cell.agent, cell.env, seeds=cell.seeds, seed=cell.seed, **config)
    steps = record["env_steps"]
    rows = [score_row(seed=s, env_steps=x, eval_return=y,
                      # one compiled program: only its total time is known
                      wall_time_s=record["wall_time_s"] if p == len(steps) - 1 else None,
                      **fields)
            for s, returns in enumerate(record["eval_returns"])
            for p, (x, y) in enumerate(zip(steps, returns))]
    write_scores(path, rows)
    return record["wall_time_s"], len(steps)


def run_random(env_name: str, *, seeds: int, seed: int, suite: str, scores_dir: str) -> str:
    """The score file of uniformly random actions on ``env_name`` (one episode per
    seed at env step 0), the zero of the normalised scores; kept once written."""
    from jwm.runs import baseline_returns

    short = env_name.split(":")[-1]
    path = os.path.join(scores_dir, f"random-{short}-s{seeds}.jsonl")
    if os.path.exists(path):
        return path
    digest = config_hash({"agent": "random", "env": env_name, "seeds": seeds, "seed": seed})
    fields = _fields(Cell(f"random-{short}-s{seeds}", "random", env_name, 0, seeds, {}, seed),
                     suite, digest)
    returns = baseline_returns(env_name, seeds=seeds, seed=seed)["random actions"]["returns"]
    write_scores(path, [score_row(seed=s, env_steps=0, eval_return=r, **fields)
                        for s, r in enumerate(returns)])
    return path
