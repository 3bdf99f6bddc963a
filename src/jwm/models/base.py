"""The `WorldModel` record: a world model as three pure functions."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax

__all__ = ["WorldModel"]


@dataclasses.dataclass(frozen=True)
class WorldModel:
    """A world model as pure functions.

    Attributes:
      init: ``init(key) -> params``; a pytree (``()`` for a model with no parameters).
      encode: ``encode(params, obs) -> latent``; ``obs: [*obs_shape]``.
      step: ``step(params, latent, action, key) -> (latent, reward, discount)``;
        ``reward`` and ``discount`` are scalars. ``discount`` is 0 once the episode has
        terminated (as in mctx); planners ignore rewards after it.
      observes_state: when True, agent loops hand ``encode`` the environment *state*
        instead of the observation. The true model sets it: the simulator's latent is
        its full state, which the observation need not determine.
      invalid_actions: optional ``invalid_actions(params, latent) -> [n] bool``, the
        actions not allowed from a latent (a board game's illegal moves); `mcts` masks
        them at the root and at every node unless given its own ``invalid_actions_fn``.

    Build one from any three functions; planners and agent loops accept it as is.
    """

    init: Callable[[jax.Array], Any]
    encode: Callable[[Any, Any], Any]
    step: Callable[[Any, Any, jax.Array, jax.Array], tuple[Any, jax.Array, jax.Array]]
    observes_state: bool = False
    invalid_actions: Callable[[Any, Any], jax.Array] | None = None
