"""Input checks shared by the agent loops that fit a learned dynamics model to a
transition buffer (PETS, SVG): each raises a clear error naming the parameter."""

from __future__ import annotations

import inspect

from jwm.models.fit import fit

__all__ = ["check_spaces", "fit_options_checked", "buffer_capacity", "part_config",
           "check_schedule"]


def check_spaces(name, env, model):
    """``model`` must be a learned dynamics model built for ``env``'s spaces."""
    obs_shape = tuple(env.observation_space.shape)
    model_obs = getattr(model, "obs_dim", None)
    if model_obs is None or not hasattr(model, "action_shape"):
        raise TypeError(f"{name}: model must be a learned dynamics model such as "
                        f"jwm.models.ensemble_model(...), got {type(model).__name__}")
    if obs_shape != (model_obs,):
        raise ValueError(f"{name}: the env's observations have shape {obs_shape} but the "
                         f"model was built for ({model_obs},)")
    if tuple(env.action_space.shape) != tuple(model.action_shape):
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


def check_schedule(name, *, num_envs, train_every, eval_every, total_steps):
    """The loop of the parallel-env agents (Dreamer, MuZero): ``train_every`` env steps
    split evenly over ``num_envs``, a whole number of training phases per evaluation
    and of evaluations per run."""
    if train_every % num_envs:
        raise ValueError(f"{name}: train_every ({train_every}) must be a multiple of "
                         f"num_envs ({num_envs})")
    if eval_every % train_every or total_steps % eval_every:
        raise ValueError(f"{name}: eval_every ({eval_every}) must be a multiple of "
                         f"train_every ({train_every}) and divide total_steps ({total_steps})")
