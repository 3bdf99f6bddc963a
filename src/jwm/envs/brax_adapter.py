"""brax environments behind the `Env` record."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jwm.envs.base import Env, Transition
from jwm.keys import with_typed_key
from jwm.spaces import Box

__all__ = ["BraxState", "from_brax"]


class BraxState(NamedTuple):
    """brax's own ``State`` plus a step counter, so truncation is known without a wrapper."""

    inner: Any
    time: jax.Array


def from_brax(env, *, max_episode_steps: int = 1000, name: str | None = None) -> Env:
    """Wraps a ``brax.envs.Env`` as a pure `Env` without auto-reset.

    brax's ``step`` is deterministic and takes no key; the key is accepted and unused.
    Actions are ``[action_size]`` in ``[-1, 1]``; ``terminated`` is brax's ``done``,
    ``truncated`` is set after ``max_episode_steps`` steps. ``reset``, ``transition`` and
    ``step`` take typed or legacy PRNG keys (a legacy one is converted, so brax sees
    the same typed key either way).
    """
    if isinstance(max_episode_steps, bool) or not isinstance(max_episode_steps, int) or max_episode_steps <= 0:
        raise ValueError(f"from_brax: max_episode_steps must be a positive int, got {max_episode_steps!r}")

    def reset(key):
        inner = env.reset(key)
        return BraxState(inner, jnp.zeros((), jnp.int32)), inner.obs

    def transition(key, state, action):
        del key
        inner = env.step(state.inner, action)
        time = state.time + 1
        return Transition(
            state=BraxState(inner, time),
            obs=inner.obs,
            reward=jnp.asarray(inner.reward, jnp.float32),
            terminated=inner.done > 0.5,
            truncated=time >= max_episode_steps,
        )

    name = name or f"brax:{type(env).__name__}"
    return Env(
        reset=with_typed_key(reset, 0, where=f"{name} reset"),
        transition=with_typed_key(transition, 0, where=f"{name} transition"),
        observation_space=Box(-np.inf, np.inf, (env.observation_size,)),
        action_space=Box(-1.0, 1.0, (env.action_size,)),
        max_episode_steps=max_episode_steps,
        name=name,
    )
