"""Per-feature standardisation whose statistics come from (masked) data."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["Normalizer", "identity_normalizer", "fit_normalizer"]

# Features whose spread falls below this are treated as constant: dividing by their
# (near-zero) std would turn float noise into huge inputs, so they are only centred.
MIN_STD = 1e-6


class Normalizer(NamedTuple):
    """``normalize(x) = (x - mean) / std``, feature-wise.

    Attributes:
      mean: ``[D]``.
      std: ``[D]``, strictly positive (1 for constant features).
    """

    mean: jax.Array
    std: jax.Array

    def normalize(self, x):
        return (x - self.mean) / self.std

    def denormalize(self, x):
        return x * self.std + self.mean


def identity_normalizer(dim: int) -> Normalizer:
    return Normalizer(mean=jnp.zeros((dim,), jnp.float32), std=jnp.ones((dim,), jnp.float32))


def fit_normalizer(x, mask=None) -> Normalizer:
    """Mean and std of the rows of ``x [M, D]`` where ``mask [M]`` is true.

    With no true row the identity is returned; a feature with std below `MIN_STD`
    gets std 1.
    """
    x = jnp.asarray(x, jnp.float32)
    if mask is None:
        mask = jnp.ones(x.shape[:1], bool)
    w = mask.astype(jnp.float32)[:, None]
    count = jnp.maximum(w.sum(), 1.0)
    mean = (w * x).sum(0) / count
    var = (w * (x - mean) ** 2).sum(0) / count
    std = jnp.sqrt(var)
    std = jnp.where(std < MIN_STD, 1.0, std)
    return Normalizer(mean=mean, std=std)
