"""gymnax environments behind the `Env` record."""

from __future__ import annotations

import jax
import numpy as np

from jwm.checks import is_traced
from jwm.envs.base import Env, scalar_transition
from jwm.keys import with_typed_key
from jwm.spaces import Box, Discrete

__all__ = ["from_gymnax", "gymnax_space"]


def gymnax_space(space) -> Box | Discrete:
    """Converts a gymnax space (Discrete or Box) into a jwm space."""
    if hasattr(space, "n"):
        return Discrete(int(space.n))
    if hasattr(space, "low") and hasattr(space, "high"):
        return Box(np.asarray(space.low), np.asarray(space.high), tuple(space.shape),
                   dtype=np.dtype(space.dtype))
    raise TypeError(f"unsupported gymnax space {type(space).__name__} (only Box, Discrete)")


def from_gymnax(env, env_params=None, *, name: str | None = None,
                transition_gradients: bool = False) -> Env:
    """Wraps a gymnax environment as a pure `Env` without auto-reset.

    Args:
      env: a ``gymnax.environments.environment.Environment``.
      env_params: its params; ``env.default_params`` when None.
      name: label; the gymnax class name when None.
      transition_gradients: keep gradients through ``transition`` (gymnax detaches
        them unless asked; only some envs support it, e.g. Pendulum-v1). Needed to
        differentiate a return through `jwm.models.true_model` (SVG with the simulator).

    ``transition(key, ...)`` splits ``key`` exactly as gymnax's own ``step`` does, so on
    steps that do not end the episode it returns what ``env.step(key, ...)`` returns.
    ``reset``, ``transition`` and ``step`` take typed or legacy PRNG keys.

    Fields of ``env_params`` other than ``max_steps_in_episode`` (which fixes the time
    limit) may be traced scalars, e.g. a gravity vmapped over a sweep: the dynamics
    use them, while the spaces' bounds come from the concrete fields and the defaults.
    """
    params = env.default_params if env_params is None else env_params
    # Spaces need concrete bounds: a traced field takes its default value there.
    concrete = jax.tree.map(lambda value, default: default if is_traced(value) else value,
                            params, env.default_params)
    max_steps = getattr(params, "max_steps_in_episode", None)
    if is_traced(max_steps):
        raise TypeError("from_gymnax: max_steps_in_episode fixes the time limit, so it "
                        "cannot be traced")
    if transition_gradients:
        if not getattr(env, "supports_transition_gradients", False):
            raise ValueError(f"from_gymnax: transition_gradients=True, but {env.name} does not "
                             "support transition gradients")
        env = env.with_transition_gradients()
    # gymnax computes bounds with jnp, which would be staged out inside a trace.
    with jax.ensure_compile_time_eval():
        action_space = gymnax_space(env.action_space(concrete))
        observation_space = gymnax_space(env.observation_space(concrete))

    def reset(key):
        obs, state = env.reset_env(key, params)
        return state, obs

    def transition(key, state, action):
        key_step, _ = jax.random.split(key)
        obs, next_state, reward, terminated, _ = env.step_env(key_step, state, action, params)
        truncated = env.is_truncated(next_state, params)
        return scalar_transition(next_state, obs, reward, terminated, truncated)

    name = name or f"gymnax:{env.name}"
    return Env(
        reset=with_typed_key(reset, 0, where=f"{name} reset"),
        transition=with_typed_key(transition, 0, where=f"{name} transition"),
        observation_space=observation_space,
        action_space=action_space,
        max_episode_steps=None if max_steps is None else int(max_steps),
        name=name,
        observe=lambda state: env.get_obs(state, params),
    )
