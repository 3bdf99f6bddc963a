"""pgx board games (two-player, zero-sum, alternating) as `Env` records.

What the record carries for a board game:
- observations from the point of view of the player to move (pgx's own);
- ``reward``: what the move earned the player who made it (+1 win, -1 loss, 0
  otherwise), so that with ``num_players=2`` a search multiplies values by -1 between
  plies (`jwm.models.true_model` gives discount -1, 0 at the end);
- ``legal_actions(state) -> [A] bool``, which `jwm.models.true_model` hands to
  `jwm.planners.mcts` as its mask at the root and at every node;
- ``max_episode_steps``: the game's longest possible length where it is known (every
  cell filled), else pgx's own truncation, so an episode loop can cover a whole game.
"""

from __future__ import annotations

import jax.numpy as jnp

from jwm.envs.base import Env, Transition
from jwm.spaces import Box, Discrete

__all__ = ["from_pgx", "GAME_LENGTHS"]

#: Longest possible games (plies), for episode loops of a fixed length.
GAME_LENGTHS = {"tic_tac_toe": 9, "connect_four": 42, "othello": 128, "hex": 121,
                "go_9x9": 722, "animal_shogi": 256, "gardner_chess": 256}


def from_pgx(game, *, name: str, max_episode_steps: int | None = None) -> Env:
    """Wraps a ``pgx.Env`` (``pgx.make(id)``) as an `Env` with ``num_players`` and
    ``legal_actions`` set (see the module docstring)."""
    shape = tuple(game.observation_shape)
    if max_episode_steps is None:
        max_episode_steps = GAME_LENGTHS.get(str(game.id))

    def reset(key):
        state = game.init(key)
        return state, state.observation.astype(jnp.float32)

    def transition(key, state, action):
        mover = state.current_player
        nxt = game.step(state, jnp.asarray(action, jnp.int32), key)
        return Transition(state=nxt, obs=nxt.observation.astype(jnp.float32),
                          reward=nxt.rewards[mover].astype(jnp.float32),
                          terminated=nxt.terminated, truncated=nxt.truncated & ~nxt.terminated)

    return Env(reset=reset, transition=transition,
               observation_space=Box(0.0, 1.0, shape=shape),
               action_space=Discrete(int(game.num_actions)), max_episode_steps=max_episode_steps,
               name=name, observe=lambda state: state.observation.astype(jnp.float32),
               legal_actions=lambda state: state.legal_action_mask,
               num_players=int(game.num_players))
