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
    ``discount = 1 - terminated``. Truncation is not part of the dynamics, so it does not
    zero the discount.

    ``step`` takes a typed or legacy PRNG key; ``init`` ignores its key (None allowed).
    """

    def init(key):
        del key
        return ()

    def encode(params, state):
        del params
        return state

    def step(params, latent, action, key):
        del params
        t = env.transition(key, latent, action)
        return t.state, t.reward, 1.0 - t.terminated.astype(jnp.float32)

    return WorldModel(init=with_typed_key(init, 0, where="true_model.init", optional=True),
                      encode=encode, step=with_typed_key(step, 3, where="true_model.step"),
                      observes_state=True)
