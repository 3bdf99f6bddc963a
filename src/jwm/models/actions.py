"""How actions enter a network: one-hot for a Discrete space, flattened floats for a
Box, shared by the ensemble, the RSSM and the frame model."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["action_encoder"]


def action_encoder(name, space):
    """``(encode(action [..., *a]) -> [..., action_dim] float32, action_dim)``."""
    if hasattr(space, "n") and getattr(space, "shape", ()) == ():
        n = int(space.n)
        return (lambda a: jax.nn.one_hot(a, n, dtype=jnp.float32)), n
    if hasattr(space, "low") and hasattr(space, "shape"):
        if not np.issubdtype(np.dtype(space.dtype), np.floating):
            raise TypeError(f"{name}: action_space Box must be floating, got {space.dtype}")
        shape = tuple(space.shape)
        dim = int(np.prod(shape, dtype=np.int64))

        def encode(a):
            a = jnp.asarray(a, jnp.float32)
            return a.reshape(a.shape[:a.ndim - len(shape)] + (dim,))

        return encode, dim
    raise TypeError(f"{name}: action_space must be a jwm.spaces.Box or Discrete, got {space!r}")
