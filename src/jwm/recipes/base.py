"""A recipe: an agent's default settings (per environment), how to build the agent
from them, and its results record. The ``jwm`` command and ``experiments/`` use the
same recipes, so both run the same agents."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, Callable

__all__ = ["BUDGET_KEYS", "Recipe", "deep_update", "env_kind", "flat_keys", "dotted", "fit_options", "merge_config", "parse_settings",
           "results_record", "RENAMED", "run_recipe"]


def dotted(path: str, value) -> dict:
    """``dotted("fit.learning_rate", 1e-3)`` is ``{"fit": {"learning_rate": 1e-3}}``."""
    out: dict = {}
    node = out
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return out


def parse_settings(items) -> dict:
    """``["loop.total_steps=2000", "model.kind=mlp", ...]`` (``--set KEY=VALUE``, the
    VALUE JSON or else a string) as one nested dict of recipe overrides."""
    import json

    overrides: dict = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set takes KEY=VALUE, got {item!r}")
        path, text = item.split("=", 1)
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        overrides = deep_update(overrides, dotted(path.strip(), value))
    return overrides


def deep_update(base: dict, extra: dict) -> dict:
    """``base`` with ``extra`` merged in, dict into dict (neither is changed)."""
    out = dict(base)
    for key, value in extra.items():
        out[key] = (deep_update(out[key], value)
                    if isinstance(value, dict) and isinstance(out.get(key), dict) else value)
    return out


# Settings of the recipes' earlier layout and where each lives now, so that an old
# sweep file or command line is told what to write instead.
RENAMED = {
    "episodes": "loop.total_steps (env steps, the prefill included)",
    "random_episodes": "loop.prefill (env steps)",
    "steps_per_episode": "loop.steps_per_episode", "capacity": "loop.capacity",
    "updates_per_episode": "loop.updates_per_episode", "batch_size": "loop.batch_size",
    "eval_episodes": "loop.eval_episodes", "known_reward": "model.known_reward",
    "model_kind": "model.kind", "behavior": "learner",
    "fit": "optimizer.learning_rate / optimizer.weight_decay and loop.fit_epochs / "
           "loop.fit_batch_size / loop.holdout_ratio",
    "loop.model_lr": "optimizer.learning_rate", "loop.model_grad_clip": "optimizer.grad_clip",
    "loop.search": "search.rule", "loop.num_simulations": "search.num_simulations",
    **{f"loop.{k}": f"optimizer.{k}" for k in ("learning_rate", "final_learning_rate",
                                                "weight_decay", "grad_clip")},
    **{f"loop.{k}": f"search.{k}" for k in ("max_num_considered_actions", "gumbel_scale",
                                             "dirichlet_alpha", "dirichlet_fraction",
                                             "temperature")},
}


def merge_config(base: dict, overrides: dict, where: str, path: str = "") -> dict:
    """``base`` deep-copied with ``overrides`` merged in. Every key of ``overrides``
    must exist in ``base`` (a typo is a ValueError naming the key and the keys
    allowed, and a setting of the earlier layout says where it lives now); a dict
    merges into a dict, anything else replaces the value."""
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        here = f"{path}{key}"
        if key not in merged:
            hint = f" (now {RENAMED[here]})" if here in RENAMED else ""
            raise ValueError(f"{where}: unknown config key {here!r}{hint}; allowed at this "
                             f"level: {sorted(merged)}")
        if isinstance(merged[key], dict):
            if not isinstance(value, dict):
                raise ValueError(f"{where}: config key {here!r} is a section "
                                 f"({sorted(merged[key])}), got {value!r}")
            merged[key] = merge_config(merged[key], value, where, here + ".")
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def fit_options(config: dict) -> dict:
    """The `jwm.models.fit` options of a PETS or SVG config: its optimizer, the loop's
    fitting schedule and the model's training loss."""
    loop, model = config["loop"], config["model"]
    options = dict(config["optimizer"], epochs=loop["fit_epochs"],
                   batch_size=loop["fit_batch_size"], holdout_ratio=loop["holdout_ratio"])
    options.update({k: model[k] for k in ("bootstrap", "logvar_penalty") if k in model})
    return options


# What an env's own settings may set: its budget and evaluation grid. Every other
# setting comes from the recipe's defaults for the env's action space (and, for image
# observations, its encoder), so that a task no one tuned for runs with the same
# settings as the tasks that were tuned.
BUDGET_KEYS = frozenset({"loop.total_steps", "loop.eval_every", "loop.prefill",
                         "loop.steps_per_episode"})


def flat_keys(tree: dict, prefix: str = "") -> set:
    """The dotted paths of a nested dict's leaves."""
    out = set()
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= flat_keys(value, f"{prefix}{key}.")
        else:
            out.add(prefix + key)
    return out


def env_kind(env_name: str) -> tuple[str, bool]:
    """``(action kind, image observations)`` of an env: ``"discrete"`` or
    ``"continuous"``, and whether its observations have more than one axis."""
    from jwm import envs, spaces

    env = envs.make(env_name)
    discrete = isinstance(env.action_space, spaces.Discrete)
    return ("discrete" if discrete else "continuous"), len(env.observation_space.shape) > 1


@dataclasses.dataclass(frozen=True)
class Recipe:
    """An agent's recipe.

    Attributes:
      name: the agent's name (``jwm <name>`` on the command line).
      algorithm: a label for results.
      defaults: the settings, a nested dict of JSON values.
      env_defaults: ``{env name: overrides}``: each env's budget (`BUDGET_KEYS`).
      build: ``build(env_name, config) -> Agent``.
      default_env: the environment of ``jwm <name>`` and of a sweep file without ``env``.
      action_defaults: ``{"discrete" | "continuous": overrides}``, the settings of
        every task of that action space.
      image_defaults: overrides for image observations: the encoder.
    """

    name: str
    algorithm: str
    defaults: dict
    env_defaults: dict
    build: Callable[[str, dict], Any]
    default_env: str
    action_defaults: dict = dataclasses.field(default_factory=dict)
    image_defaults: dict = dataclasses.field(default_factory=dict)

    def config(self, env_name: str, overrides: dict | None = None) -> dict:
        """The defaults, those of the env's action space (and image encoder), the
        env's budget, then ``overrides`` (unknown keys are errors); ``env`` is
        recorded in it."""
        config = self.defaults
        if self.action_defaults or self.image_defaults:
            actions, image = env_kind(env_name)
            config = merge_config(config, self.action_defaults.get(actions, {}), self.name)
            if image:
                config = merge_config(config, self.image_defaults, self.name)
        config = merge_config(config, self.env_defaults.get(env_name, {}), self.name)
        config = merge_config(config, overrides or {}, self.name)
        return {"env": env_name, **config}

    def agent(self, config: dict):
        """The `Agent` for a `config`, the config recorded in ``agent.config["recipe"]``."""
        from jwm.training.pytrees import to_json

        return self.build(config["env"], config).with_config(recipe=to_json(config))


def results_record(recipe: Recipe, agent, training, *, seeds: int, seed: int) -> dict:
    """A results record (``env``, ``algorithm``, ``config``, ``seeds``, ``env_steps``,
    ``eval_returns [seed][point]``, ``wall_time_s``, ``device``, ...) of a `jwm.train`
    result of ``agent`` (built by ``recipe``), with every metric per seed and iteration
    under ``metrics`` and the agent's resolved settings under ``agent_config``."""
    import jax
    import numpy as np

    from jwm.device import device_name
    from jwm.training.pytrees import flat_metrics, to_json

    config = agent.config["recipe"]
    flat = flat_metrics(training.metrics)
    if seeds == 1:  # one layout for any number of seeds: [seed][iteration][...]
        flat = {k: v[None] for k, v in flat.items()}
    env_steps = flat["env_steps"]
    return {
        "env": config["env"], "algorithm": recipe.algorithm, "agent": recipe.name,
        "config": config, "seeds": seeds, "seed": seed,
        "agent_config": to_json({k: v for k, v in agent.config.items() if k != "recipe"}),
        "iterations": int(training.iterations),
        # Seeds may differ (episode ends do not count as env steps in every agent): the
        # mean is the curves' x axis and every seed's own count is kept.
        "env_steps": np.round(env_steps.mean(0)).astype(int).tolist(),
        "env_steps_per_seed": env_steps.tolist(),
        "eval_returns": to_json(flat["eval_return"].astype(float)),
        "num_nonfinite": int(np.sum(flat.get("num_nonfinite", 0))),
        "metrics": to_json({k: v for k, v in flat.items()
                            if k not in ("env_steps", "eval_return")}),
        "wall_time_s": training.wall_time_s, "device": device_name(),
        "jax": jax.__version__,
    }


def run_recipe(recipe: Recipe, env_name: str, *, seeds: int, seed: int = 0,
               overrides: dict | None = None, **train_options):
    """Builds ``recipe`` for ``env_name`` (with ``overrides``) and trains it with
    `jwm.train` on ``jax.random.key(seed)``: ``(config, Training, results record)``;
    the record is None when interrupted before the first iteration."""
    import jax

    from jwm.training import train

    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds must be an int >= 1, got {seeds!r}")
    config = recipe.config(env_name, overrides)
    agent = recipe.agent(config)
    result = train(agent, jax.random.key(seed), seeds=seeds, **train_options)
    record = (None if result.metrics is None else
              results_record(recipe, agent, result, seeds=seeds, seed=seed))
    return config, result, record
