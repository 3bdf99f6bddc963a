"""Sweeps of the recipes (`jwm.recipes`) described in a TOML or YAML file, for
``jwm sweep FILE``.

A file names an agent and an env, fixed settings, and a grid (or a list) of the
settings that vary, with the dotted keys of ``jwm <agent> --set``::

    agent = "pets"
    env = "gymnax:Pendulum-v1"
    seeds = 2
    threshold = -1000          # optional: env steps to reach it, per configuration
    [set]
    "loop.total_steps" = 50    # 2 episodes of 25 steps, the first random
    "loop.steps_per_episode" = 25
    "loop.fit_epochs" = 5
    "planner.population" = 40
    "planner.iterations" = 3
    [grid]
    "optimizer.learning_rate" = [1e-3, 3e-3]
    "planner.alpha" = [0.0, 0.5]

``configs = [{...}, ...]`` replaces ``[grid]`` for a list; ``static = [...]`` lists
floats that fix a shape; ``seed`` is the base PRNG seed; ``name`` the output files'.
"""

from __future__ import annotations

import os

from jwm.recipes.base import deep_update, dotted

__all__ = ["load_sweep_file", "read_settings_file", "recipe_factory", "sweep_file"]

KEYS = {"agent", "env", "seeds", "seed", "set", "grid", "configs", "static", "threshold",
        "name"}


def read_settings_file(path: str, what: str = "sweep file") -> dict:
    """The table of settings in a TOML or YAML file (``what`` names it in errors).

    Raises:
      ValueError: an unknown extension, an unreadable or invalid file, or one that
        does not hold a table.
    """
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".toml", ".yaml", ".yml"):
        raise ValueError(f"{what} {path!r} must end in .toml, .yaml or .yml")
    try:
        if ext == ".toml":
            try:
                import tomllib
            except ImportError:  # Python 3.10
                import tomli as tomllib
            with open(path, "rb") as f:
                spec = tomllib.load(f)
        else:
            import yaml

            with open(path) as f:
                spec = yaml.safe_load(f)
    except OSError as e:
        raise ValueError(f"{what} {path!r} cannot be read: {e.strerror}") from None
    except Exception as e:  # the parsers' own error types
        raise ValueError(f"{what} {path!r} is not valid {ext[1:].upper()}: {e}") from None
    if not isinstance(spec, dict):
        raise ValueError(f"{what} {path!r} must hold a table of settings")
    return spec


def load_sweep_file(path: str) -> dict:
    """The file's settings, checked.

    Raises:
      ValueError: unreadable or unknown format, an unknown key, no agent, both or
        neither of ``grid`` and ``configs``, an unknown recipe.
    """
    from jwm.recipes import RECIPES

    spec = read_settings_file(path)
    unknown = sorted(set(spec) - KEYS)
    if unknown:
        raise ValueError(f"sweep file {path!r}: unknown keys {unknown}; allowed: {sorted(KEYS)}")
    if spec.get("agent") not in RECIPES:
        raise ValueError(f"sweep file {path!r}: agent must be one of {sorted(RECIPES)}, got "
                         f"{spec.get('agent')!r}")
    if ("grid" in spec) == ("configs" in spec):
        raise ValueError(f"sweep file {path!r}: give either [grid] or configs, not "
                         f"{'both' if 'grid' in spec else 'neither'}")
    return spec


def _with_path(config: dict, path: str, value) -> dict:
    """``config`` with ``value`` at the dotted ``path``, the dicts along it copied."""
    head, _, rest = path.partition(".")
    out = dict(config)
    out[head] = _with_path(config[head], rest, value) if rest else value
    return out


def recipe_factory(recipe, env_name: str, fixed: dict):
    """``factory(**{dotted key: value}) -> Agent`` for `jwm.sweep`: the recipe's
    settings for ``env_name``, ``fixed`` (nested overrides), then the given values.

    The settings are resolved with the values of the call if they are concrete; a
    traced value is put in place afterwards (the recipe's merge copies values, and
    records JSON), so that it reaches the builder as the tracer it is."""
    import jax

    from jwm.training.pytrees import to_json

    def factory(**values):
        concrete = {k: (0.0 if isinstance(v, jax.core.Tracer) else v)
                    for k, v in values.items()}
        overrides = fixed
        for path, value in concrete.items():
            overrides = deep_update(overrides, dotted(path, value))
        config = recipe.config(env_name, overrides)
        recorded = to_json(config)
        for path, value in values.items():
            config = _with_path(config, path, value)
        return recipe.build(env_name, config).with_config(recipe=recorded)

    return factory


def sweep_file(path: str, **sweep_options):
    """Runs the sweep of a file: ``(SweepResult, settings)``; ``sweep_options`` go to
    `jwm.sweep` (devices, checkpoint_dir, progress)."""
    from jwm.recipes import RECIPES
    from jwm.sweeps.configs import grid
    from jwm.sweeps.run import sweep

    spec = load_sweep_file(path)
    recipe = RECIPES[spec["agent"]]
    env_name = spec.get("env") or recipe.default_env
    fixed: dict = {}
    for key, value in (spec.get("set") or {}).items():
        fixed = deep_update(fixed, dotted(key, value))
    if "grid" in spec:
        if not isinstance(spec["grid"], dict):
            raise ValueError(f"sweep file {path!r}: [grid] must map keys to lists of values")
        configs = grid(**spec["grid"])
    else:
        configs = spec["configs"]
    factory = recipe_factory(recipe, env_name, fixed)
    result = sweep(factory, configs, seeds=spec.get("seeds", 1), key=spec.get("seed", 0),
                   static=spec.get("static", ()), **sweep_options)
    return result, dict(spec, env=env_name)
