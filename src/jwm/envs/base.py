"""The `Env` record: an environment as a pair of pure functions.

An environment here never resets itself: after ``done`` the caller decides what to do
(the MPC loop freezes the state and stops counting reward). Keeping reset out of
``step`` is what lets the same simulator serve as a world model, where stepping past a
terminal state must stay inside the same episode.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from jwm.spaces import Box, Discrete

__all__ = ["Env", "Transition", "scalar_transition"]


class Transition(NamedTuple):
    """One environment transition.

    Attributes:
      state: the next environment state (a pytree).
      obs: the next observation, ``[*obs_shape]``.
      reward: scalar float32 reward for this transition.
      terminated: scalar bool; the episode ended inside the MDP (a true terminal).
      truncated: scalar bool; the episode was cut by the time limit.
    """

    state: Any
    obs: jax.Array
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array

    @property
    def done(self) -> jax.Array:
        return self.terminated | self.truncated


def scalar_transition(state, obs, reward, terminated, truncated) -> Transition:
    """A `Transition` from an adapted library's outputs, whatever their shapes and
    dtypes (``()`` or ``(1,)``, ints or bools): reward a float32 scalar, the flags
    bool scalars."""
    return Transition(state=state, obs=obs,
                      reward=jnp.reshape(reward, ()).astype(jnp.float32),
                      terminated=jnp.reshape(terminated, ()).astype(bool),
                      truncated=jnp.reshape(truncated, ()).astype(bool))


@dataclasses.dataclass(frozen=True)
class Env:
    """An environment as pure functions.

    Attributes:
      reset: ``reset(key) -> (state, obs)``.
      transition: ``transition(key, state, action) -> Transition``; keeps
        ``terminated`` and ``truncated`` apart.
      observation_space: a `Box` (or `Discrete`) describing observations.
      action_space: a `Box` or `Discrete`.
      max_episode_steps: the time limit after which ``truncated`` is set, or None.
      name: a label for logs and results.
      observe: optional ``observe(state) -> obs``, the observation of a state. Policies
        that act on observations need it to imagine inside the true model, whose latent
        is the state (`jwm.imagination.value_gradient` with `jwm.models.true_model`).
        None when the adapter cannot provide it.
      legal_actions: optional ``legal_actions(state) -> [n] bool`` for Discrete actions
        (board games); None when every action is always legal.
      num_players: 1, or 2 for a two-player zero-sum game whose players alternate: its
        ``reward`` is what a move earned the player who made it, and the observation is
        the player to move's.

    A user can build one from their own functions; nothing in jwm checks the type.
    """

    reset: Callable[[jax.Array], tuple[Any, jax.Array]]
    transition: Callable[[jax.Array, Any, jax.Array], Transition]
    observation_space: Box | Discrete
    action_space: Box | Discrete
    max_episode_steps: int | None = None
    name: str = "env"
    observe: Callable[[Any], jax.Array] | None = None
    legal_actions: Callable[[Any], jax.Array] | None = None
    num_players: int = 1

    def step(self, key: jax.Array, state, action):
        """``step(key, state, action) -> (state, obs, reward, done)``, no auto-reset.

        ``done`` is ``terminated | truncated``; use `transition` to tell them apart.
        """
        t = self.transition(key, state, action)
        return t.state, t.obs, t.reward, t.done
