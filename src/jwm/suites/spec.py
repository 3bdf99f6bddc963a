"""Suite files: a grid of cells (agent × env × env-step budget × overrides, each with
its seeds) in tiers, and the tasks its table reads the cells against.

A suite file (TOML or YAML)::

    name = "model-based"
    [tasks."gymnax:CartPole-v1"]        # what the table reads this env against
    budgets = [20_000, 50_000]          # env steps at which returns are tabled
    threshold = 475                     # env steps to reach it are tabled
    reference = 500                     # normalises to 1 (random actions are 0)
    reference_source = "the episode cap"

    [tiers.smoke]                       # a tier: seeds and a list of cell groups
    seeds = 2
    [[tiers.smoke.cells]]
    agents = ["dreamer", "ppo"]         # or agent = "dreamer"
    envs = ["gymnax:CartPole-v1"]
    steps = [2_000]                     # loop.total_steps of each cell, prefill included
    set = {"loop.eval_every" = 500}     # overrides, with the keys of `jwm <agent> --set`
    seeds = 2                           # optional: this group's own seed count

Agents are the recipes (``pets``, ``svg``, ``dreamer``, ``muzero``, ``alphazero``) and
the model-free baselines (``ppo``, ``sac``). A pair whose spaces the agent cannot take
(SVG on discrete actions) is skipped and listed, not an error.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from jwm.baselines import BASELINES
from jwm.recipes.base import deep_update, dotted
from jwm.scores.format import config_hash
from jwm.scores.table import Task

__all__ = ["Cell", "Suite", "load_suite", "tier_cells"]

SUITE_KEYS = {"name", "tasks", "tiers", "seed"}
TIER_KEYS = {"seeds", "cells", "description"}
GROUP_KEYS = {"agent", "agents", "envs", "env", "steps", "set", "seeds"}
TASK_KEYS = {"budgets", "threshold", "reference", "reference_source"}


class Cell(NamedTuple):
    """One run of a suite: an agent on an env for ``steps`` env steps, ``seeds``
    seeds vmapped in one program.

    Attributes:
      id: the cell's name in the suite's folders, ``<agent>-<env>-<steps>-s<seeds>``
        (plus the hash of its overrides, if any).
      agent, env, steps, seeds: what it runs.
      overrides: nested settings over the agent's defaults for ``env``.
      seed: the base PRNG seed (the seeds' keys are split from it).
    """

    id: str
    agent: str
    env: str
    steps: int
    seeds: int
    overrides: dict
    seed: int

    def command(self) -> str:
        """The equivalent ``jwm`` command line (recipes; baselines have none)."""
        if self.agent in BASELINES:
            return ""
        sets = " ".join(f"--set {path}={_json(v)}" for path, v in _flat(self.overrides))
        return (f"jwm {self.agent} --env {self.env} --seeds {self.seeds} --seed {self.seed} "
                f"--steps {self.steps}" + (f" {sets}" if sets else ""))


def _json(value) -> str:
    import json

    text = json.dumps(value, separators=(",", ":"))
    return f"'{text}'" if any(c in text for c in " []{}\"") else text


def _flat(tree: dict, prefix: str = ""):
    for key, value in sorted(tree.items()):
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


class Suite(NamedTuple):
    """A loaded suite file: ``name``, ``tasks`` (`jwm.scores.Task` per env, in file
    order), ``tiers`` (``{tier: settings}``), ``seed`` and the file's ``path``."""

    name: str
    tasks: list
    tiers: dict
    seed: int
    path: str


def _read(path: str) -> dict:
    from jwm.sweeps.files import read_settings_file

    return read_settings_file(path, what="suite file")


def _unknown(where: str, given, allowed) -> None:
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; allowed: {sorted(allowed)}")


def load_suite(path: str | os.PathLike) -> Suite:
    """The suite file at ``path``, checked (keys, tiers, tasks).

    Raises:
      ValueError: an unreadable file, an unknown key (named with where it is), a
        tier without cells, bad task budgets.
    """
    path = os.fspath(path)
    spec = _read(path)
    _unknown(f"suite file {path!r}", spec, SUITE_KEYS)
    name = spec.get("name") or os.path.splitext(os.path.basename(path))[0]
    tasks = []
    for env, settings in (spec.get("tasks") or {}).items():
        _unknown(f"suite file {path!r}: tasks.{env!r}", settings, TASK_KEYS)
        if "budgets" not in settings:
            raise ValueError(f"suite file {path!r}: tasks.{env!r} needs budgets = [env steps]")
        tasks.append(Task(env, settings["budgets"], settings.get("threshold"),
                          settings.get("reference"), settings.get("reference_source", "")))
    tiers = spec.get("tiers") or {}
    if not tiers:
        raise ValueError(f"suite file {path!r}: no [tiers.<name>] given")
    for tier, settings in tiers.items():
        _unknown(f"suite file {path!r}: tiers.{tier}", settings, TIER_KEYS)
        if not settings.get("cells"):
            raise ValueError(f"suite file {path!r}: tiers.{tier} has no [[tiers.{tier}.cells]]")
        for i, group in enumerate(settings["cells"]):
            _unknown(f"suite file {path!r}: tiers.{tier}.cells[{i}]", group, GROUP_KEYS)
    seed = spec.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"suite file {path!r}: seed must be an int >= 0, got {seed!r}")
    return Suite(name=name, tasks=tasks, tiers=tiers, seed=seed, path=path)


def _list(group: dict, plural: str, singular: str, where: str) -> list:
    value = group.get(plural, group.get(singular))
    if value is None:
        raise ValueError(f"{where}: give {plural} = [...] (or {singular} = ...)")
    return list(value) if isinstance(value, (list, tuple)) else [value]


def tier_cells(suite: Suite, tier: str) -> list[Cell]:
    """The cells of ``tier`` in file order (duplicates once).

    Raises:
      ValueError: an unknown tier, agent, or a group lacking agents, envs or steps.
    """
    from jwm.checks import check_int
    from jwm.recipes import RECIPES

    if tier not in suite.tiers:
        raise ValueError(f"suite {suite.name!r}: no tier {tier!r}; tiers: {sorted(suite.tiers)}")
    settings = suite.tiers[tier]
    cells: dict[str, Cell] = {}
    for i, group in enumerate(settings["cells"]):
        where = f"suite {suite.name!r}: tiers.{tier}.cells[{i}]"
        seeds = check_int(where, "seeds", group.get("seeds", settings.get("seeds", 1)))
        overrides: dict = {}
        for key, value in (group.get("set") or {}).items():
            overrides = deep_update(overrides, dotted(key, value))
        for agent in _list(group, "agents", "agent", where):
            if agent not in RECIPES and agent not in BASELINES:
                raise ValueError(f"{where}: unknown agent {agent!r}; agents: "
                                 f"{sorted(RECIPES) + list(BASELINES)}")
            for env in _list(group, "envs", "env", where):
                for steps in _list(group, "steps", "steps", where):
                    steps = check_int(where, "steps", steps)
                    short = env.split(":")[-1]
                    cell_id = f"{agent}-{short}-{steps}-s{seeds}"
                    if overrides:
                        cell_id += "-" + config_hash(overrides)[:6]
                    cells.setdefault(cell_id, Cell(cell_id, agent, env, steps, seeds,
                                                   overrides, suite.seed))
    return list(cells.values())
