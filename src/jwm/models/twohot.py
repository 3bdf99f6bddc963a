"""Squashed two-hot categorical regression (Hafner et al., 2023; Schrittwieser et al., 2020).

A scalar target is squashed (``symlog`` by default; MuZero's ``value_transform``
``h(x) = sign(x)(sqrt(|x|+1)-1) + eps*x`` for `jwm.models.muzero_model`) and spread over
its two nearest bins of a fixed grid; a network predicts logits over the bins and is
trained by cross-entropy. The loss scale no longer depends on the target's magnitude,
which lets one set of hyperparameters serve rewards of 1 (CartPole) and of -16
(Pendulum) alike.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["symlog", "symexp", "value_transform", "value_transform_inverse", "twohot_bins",
           "twohot_encode", "twohot_mean", "twohot_loss"]

#: MuZero's epsilon in ``h(x)``: keeps ``h`` invertible and Lipschitz at large ``|x|``.
VALUE_TRANSFORM_EPS = 1e-3


def symlog(x: jax.Array) -> jax.Array:
    """``sign(x) * log(1 + |x|)``, elementwise."""
    return jnp.sign(x) * jnp.log1p(jnp.abs(x))


def symexp(x: jax.Array) -> jax.Array:
    """Inverse of `symlog`: ``sign(x) * (exp(|x|) - 1)``, elementwise."""
    return jnp.sign(x) * jnp.expm1(jnp.abs(x))


def value_transform(x: jax.Array, eps: float = VALUE_TRANSFORM_EPS) -> jax.Array:
    """MuZero's ``h(x) = sign(x) * (sqrt(|x| + 1) - 1) + eps * x``, elementwise
    (Pohlen et al., 2018): squashes large returns so that a fixed support covers them."""
    return jnp.sign(x) * (jnp.sqrt(jnp.abs(x) + 1.0) - 1.0) + eps * x


def value_transform_inverse(y: jax.Array, eps: float = VALUE_TRANSFORM_EPS) -> jax.Array:
    """The inverse of `value_transform`, elementwise: ``sqrt(|x| + 1)`` solves a
    quadratic, here in its rationalised form ``2c / (sqrt(1 + 4 eps c) + 1)`` with
    ``c = |y| + 1 + eps``, which loses no float32 digits near 0 (the textbook form
    divides a cancelling difference by ``2 eps``)."""
    c = jnp.abs(y) + 1.0 + eps
    root = 2.0 * c / (jnp.sqrt(1.0 + 4.0 * eps * c) + 1.0)
    return jnp.sign(y) * (root - 1.0) * (root + 1.0)


def twohot_bins(num_bins: int = 255, low: float = -20.0, high: float = 20.0) -> jax.Array:
    """``[num_bins]`` evenly spaced bin centres in symlog space (symlog(±20) spans ±4.85e8)."""
    if num_bins < 2:
        raise ValueError(f"twohot_bins: num_bins must be >= 2, got {num_bins}")
    return jnp.linspace(low, high, num_bins, dtype=jnp.float32)


def twohot_encode(x: jax.Array, bins: jax.Array, squash=symlog) -> jax.Array:
    """``[..., K]`` weights on the two bins around ``squash(x)``; they sum to 1 and their
    weighted mean of the bins is ``squash(x)`` (clipped to the grid)."""
    y = jnp.clip(squash(x), bins[0], bins[-1])
    upper = jnp.clip(jnp.searchsorted(bins, y, side="right"), 1, bins.shape[0] - 1)
    lower = upper - 1
    width = bins[upper] - bins[lower]
    w_upper = (y - bins[lower]) / width
    k = bins.shape[0]
    return (jax.nn.one_hot(lower, k) * (1.0 - w_upper)[..., None]
            + jax.nn.one_hot(upper, k) * w_upper[..., None])


def twohot_mean(logits: jax.Array, bins: jax.Array, unsquash=symexp) -> jax.Array:
    """``[...]`` the predicted scalar: ``unsquash`` of the softmax-weighted bin mean."""
    return unsquash(jnp.sum(jax.nn.softmax(logits, axis=-1) * bins, axis=-1))


def twohot_loss(logits: jax.Array, target: jax.Array, bins: jax.Array,
                squash=symlog) -> jax.Array:
    """``[...]`` cross-entropy of ``logits [..., K]`` against the two-hot ``target [...]``
    (no gradient into the target)."""
    weights = jax.lax.stop_gradient(twohot_encode(target, bins, squash))
    return -jnp.sum(weights * jax.nn.log_softmax(logits, axis=-1), axis=-1)
