"""The simulator itself as a world model."""

from __future__ import annotations

import jax.numpy as jnp

from jwm.keys import with_typed_key
from jwm.models.base import WorldModel

__all__ = ["true_model"]


def true_model(env) -> WorldModel:
    """Turns an `Env` into a `WorldModel` whose latent is the environment state.

    ``params`` is ``()``; ``encode(params, state)`` returns the state unchanged (the
    record has ``observes_state=True`` so agent loops pass the state, not the
    observation); ``step`` is the environment's transition with
    ``discount = 1 - terminated``, or ``-(1 - terminated)`` for a two-player game
    (``env.num_players == 2``: the next value is the opponent's, so a search negates
    it). Truncation is not part of the dynamics, so it does not zero the discount. An
    env with ``legal_actions`` gives the model ``invalid_actions``, which `mcts` masks
    at every node.

    ``step`` takes a typed or legacy PRNG key; ``init`` ignores its key (None allowed).
    """

    def init(key):
        del key
        return ()

    def encode(params, state):
        del params
        return state

    players = getattr(env, "num_players", 1)
    if players not in (1, 2):
        raise ValueError(f"true_model: env.num_players must be 1 or 2, got {players!r}")
    sign = -1.0 if players == 2 else 1.0

    def step(params, latent, action, key):
        del params
        t = env.transition(key, latent, action)
        return t.state, t.reward, sign * (1.0 - t.terminated.astype(jnp.float32))

    legal = getattr(env, "legal_actions", None)
    invalid = None if legal is None else (lambda params, latent: ~legal(latent))
    return WorldModel(init=with_typed_key(init, 0, where="true_model.init", optional=True),
                      encode=encode, step=with_typed_key(step, 3, where="true_model.step"),
                      observes_state=True, invalid_actions=invalid)
