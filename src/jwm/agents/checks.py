"""Input checks shared by the agent loops: the env/model space check of every agent,
the fit options of those that refit a dynamics model on a buffer (PETS, SVG), and the
run schedules in env steps. Each raises a clear error naming the parameter."""

from __future__ import annotations

import inspect

from jwm.checks import check_int
from jwm.models.fit import fit

__all__ = ["check_spaces", "fit_options_checked", "buffer_capacity", "part_config",
           "check_schedule", "episode_schedule", "prefill_steps"]


def check_spaces(name, env, model, *, kind: str = "a learned dynamics model such as "
                                                     "jwm.models.ensemble_model(...)"):
    """``model`` (``kind``) must record the spaces it was built for (``obs_shape``, and
    ``action_shape`` or ``num_actions``) and they must be ``env``'s: the one space check
    of every agent."""
    model_obs = getattr(model, "obs_shape", None)
    if model_obs is None or not (hasattr(model, "action_shape") or hasattr(model, "num_actions")):
        raise TypeError(f"{name}: model must be {kind}, recording the spaces it was built for "
                        f"(obs_shape, action_shape); got {type(model).__name__}")
    obs_shape = tuple(env.observation_space.shape)
    if obs_shape != tuple(model_obs):
        raise ValueError(f"{name}: the env's observations have shape {obs_shape} but the "
                         f"model was built for {tuple(model_obs)}")
    if hasattr(model, "num_actions"):
        n = getattr(env.action_space, "n", None)
        if n is None or int(n) != model.num_actions:
            raise ValueError(f"{name}: the env has {n if n is not None else 'continuous'} "
                             f"actions but the model was built for {model.num_actions}")
    elif tuple(env.action_space.shape) != tuple(model.action_shape):
        raise ValueError(f"{name}: the env's actions have shape {tuple(env.action_space.shape)} "
                         f"but the model was built for {tuple(model.action_shape)}")


def fit_options_checked(name, fit_options) -> dict:
    """A copy of ``fit_options`` (None: empty) whose keys are all options of
    `jwm.models.fit`."""
    fit_options = dict(fit_options or {})
    allowed = set(inspect.signature(fit).parameters) - {"model", "params", "data", "key"}
    unknown = sorted(set(fit_options) - allowed)
    if unknown:
        raise ValueError(f"{name}: fit_options {unknown} are not options of jwm.models.fit; "
                         f"allowed: {sorted(allowed)}")
    return fit_options


def _multiples(value: int, unit: int, offset: int = 0) -> str:
    """``offset`` plus the nearest positive multiples of ``unit`` around ``value``, as a
    suggestion."""
    below = max(unit, value // unit * unit)
    above = below if below >= value else below + unit
    return f"{offset + below}" if below == above else f"{offset + below} or {offset + above}"


def episode_schedule(name, total_steps, prefill, steps_per_episode, *,
                     least_prefill: int = 1) -> tuple[int, int]:
    """``(episodes, random episodes)`` of the episode-based agents (PETS, SVG) from
    their run length and warm-up in env steps (``prefill`` None: one episode; at least
    ``least_prefill``), each a whole number of episodes; an error names the setting and
    suggests values that fit."""
    check_int(name, "total_steps", total_steps)
    if prefill is None:
        prefill = steps_per_episode
    check_int(name, "prefill", prefill, minimum=least_prefill)
    for param, value in (("total_steps", total_steps), ("prefill", prefill)):
        if value % steps_per_episode:
            raise ValueError(f"{name}: {param} ({value}) must be a whole number of episodes "
                             f"of steps_per_episode ({steps_per_episode}) env steps, e.g. "
                             f"{_multiples(value, steps_per_episode)}")
    if prefill >= total_steps:
        raise ValueError(f"{name}: prefill ({prefill}) must be < total_steps ({total_steps}), "
                         f"or no episode is planned; e.g. total_steps "
                         f"{prefill + steps_per_episode}")
    return total_steps // steps_per_episode, prefill // steps_per_episode


def buffer_capacity(name, capacity, episodes, steps_per_episode) -> int:
    """``capacity``, defaulting to every transition of the run (``episodes *
    steps_per_episode``); it must hold at least one episode."""
    if capacity is None:
        capacity = episodes * steps_per_episode
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < steps_per_episode:
        raise ValueError(f"{name}: capacity must be an int >= steps_per_episode "
                         f"({steps_per_episode}), got {capacity!r}")
    return capacity


def part_config(part):
    """A part's own ``config`` dict (models and learners that record one), else None;
    it goes into the agent's config, which identifies a run's checkpoints."""
    config = getattr(part, "config", None)
    return dict(config) if isinstance(config, dict) else None


def prefill_steps(prefill: int, train_every: int) -> int:
    """The env steps a prefill of ``prefill`` steps collects: whole collection phases
    of ``train_every`` steps (the parallel-env agents collect in no other unit)."""
    return -(-prefill // train_every) * train_every


def check_schedule(name, *, num_envs, train_every, eval_every, total_steps,
                   prefill: int = 0) -> tuple[int, int]:
    """The loop of the parallel-env agents (Dreamer, MuZero): ``train_every`` env steps
    split evenly over ``num_envs``, a whole number of training phases per evaluation,
    and ``total_steps`` (every env step, the ``prefill`` as collected, in whole phases,
    included) a whole number of evaluation periods after the prefill. Returns
    ``(iterations, the prefill as collected)``; an error names the setting and suggests
    values that fit."""
    if train_every % num_envs:
        raise ValueError(f"{name}: train_every ({train_every}) must be a multiple of "
                         f"num_envs ({num_envs}), e.g. {_multiples(train_every, num_envs)}")
    if eval_every % train_every:
        raise ValueError(f"{name}: eval_every ({eval_every}) must be a multiple of "
                         f"train_every ({train_every}), e.g. "
                         f"{_multiples(eval_every, train_every)}")
    prefill = prefill_steps(prefill, train_every)
    after = total_steps - prefill
    if after < eval_every or after % eval_every:
        raise ValueError(f"{name}: total_steps ({total_steps}) must be the prefill "
                         f"({prefill} env steps) plus a whole number of evaluation periods "
                         f"of eval_every ({eval_every}), e.g. "
                         f"{_multiples(after, eval_every, prefill)}")
    return after // eval_every, prefill
