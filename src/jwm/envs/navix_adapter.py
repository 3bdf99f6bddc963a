"""navix (Pignatelli et al., 2024): the MiniGrid tasks in JAX, behind the `Env` record.

``make("navix:Navix-Empty-5x5-v0")``, ``make("navix:Navix-DoorKey-5x5-v0")``, ...
(``navix.registry()`` lists them). The state is navix's ``Timestep``, whose own key
drives the task's randomness; the rules are pure, so `jwm.models.true_model` plans
with them.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from jwm.envs.base import Env, scalar_transition
from jwm.keys import with_typed_key
from jwm.spaces import Box, Discrete

__all__ = ["from_navix", "navix_space"]


def navix_space(space) -> Box | Discrete:
    """A navix ``Discrete`` (values ``minimum..maximum``) or ``Continuous`` space as a
    jwm space; a discrete observation grid becomes a `Box` of its value range."""
    low, high = np.asarray(space.minimum), np.asarray(space.maximum)
    if type(space).__name__ == "Discrete" and tuple(space.shape) == ():
        return Discrete(int(high) - int(low) + 1)
    shape = tuple(space.shape)
    return Box(np.broadcast_to(low, shape).astype(np.float32),
               np.broadcast_to(high, shape).astype(np.float32), shape, dtype=np.float32)


def from_navix(env, *, name: str) -> Env:
    """Wraps a navix environment: ``transition`` is navix's step without its
    auto-reset; a navix truncation (``max_steps``) is ``truncated``, reaching the goal
    (or failing) ``terminated``. Observations are given as float32."""

    def observe(timestep):
        return timestep.observation.astype(jnp.float32)

    def reset(key):
        timestep = env.reset(key)
        return timestep, observe(timestep)

    def transition(key, timestep, action):
        del key  # navix keeps its key in the state
        nxt = env._step(timestep, jnp.asarray(action, jnp.int32))
        return scalar_transition(nxt, observe(nxt), nxt.reward, nxt.step_type == 2,
                                 nxt.step_type == 1)

    return Env(reset=with_typed_key(reset, 0, where=f"{name} reset"),
               transition=with_typed_key(transition, 0, where=f"{name} transition"),
               observation_space=navix_space(env.observation_space),
               action_space=navix_space(env.action_space),
               max_episode_steps=int(env.max_steps), name=name, observe=observe)
