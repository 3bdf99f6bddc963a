"""Gaussian noise with a power-law spectrum along time: power ``S(f) ~ 1 / f**beta``.

``beta = 0`` is white noise, ``beta = 1`` pink, ``beta = 2`` red (Brownian-like): the
larger ``beta``, the more the noise drifts slowly instead of flipping between steps,
which is what iCEM (Pinneri et al. 2020) samples its action sequences with.

Why written here: the ``colorednoise`` package draws with NumPy's global generator,
so it cannot run under ``jit``/``vmap``, take a JAX key, or take a traced ``beta``.
This version draws its white noise from `jwm.noise` and builds the spectrum
with ``jnp.fft.irfft``, so all three hold.

The construction, for ``T`` steps and the ``F = T // 2 + 1`` frequencies
``f_k = k / T`` of a real signal: each frequency gets a complex Gaussian coefficient
of amplitude ``f_k ** (-beta / 2)``, with ``f_0`` raised to ``1 / T`` (the lowest
frequency a window of ``T`` steps resolves) so that the constant term stays finite.
A real signal has real coefficients at ``f = 0`` and, for even ``T``, at ``f = 1/2``;
those keep only their real part, scaled by ``sqrt(2)`` to carry the same power as a
complex one: without that, ``beta = 0`` would not give independent steps. The inverse
FFT is stationary, and its exact per-step variance,
``(2 / T**2) * sum_k c_k * f_k ** -beta`` with ``c_k = 1`` at those real-only
frequencies and 2 elsewhere, is divided out so every step has unit variance.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jwm.noise import standard_normal

__all__ = ["colored_normal", "powerlaw_amplitudes"]


def powerlaw_amplitudes(length: int, beta):
    """``(amplitudes [F], weights [F])`` of the ``F = length // 2 + 1`` real-FFT bins.

    ``amplitudes[k] = max(k / length, 1 / length) ** (-beta / 2)``; ``weights`` is 1 at
    the bins whose coefficient is real (the first, and the last for even ``length``)
    and 2 elsewhere: how often each bin's power appears in the two-sided spectrum.
    ``beta`` may be traced.
    """
    freqs = np.fft.rfftfreq(length)
    freqs[0] = 1.0 / length
    weights = np.full(freqs.shape, 2.0)
    weights[0] = 1.0
    if length % 2 == 0:
        weights[-1] = 1.0
    amplitudes = jnp.exp(-0.5 * beta * jnp.log(jnp.asarray(freqs, jnp.float32)))
    return amplitudes, jnp.asarray(weights, jnp.float32)


def colored_normal(key: jax.Array, shape, beta, *, axis: int = 0, kind: str = "hash",
                   dtype=jnp.float32) -> jax.Array:
    """Unit-variance Gaussian noise of ``shape``, power-law correlated along ``axis``.

    Args:
      key: a typed PRNG key.
      shape: the output's shape; ``shape[axis]`` is the number of time steps ``T``.
      beta: spectral exponent >= 0 (0: white); may be traced.
      axis: the time axis; every other axis holds independent draws.
      kind: the white noise underneath: ``"hash"`` or ``"threefry"``
        (`jwm.noise.standard_normal`).

    Returns:
      ``shape`` array: zero mean, unit variance at every step, power spectrum along
      ``axis`` proportional to ``f ** -beta``.
    """
    shape = tuple(shape)
    axis = axis % len(shape)
    length = shape[axis]
    others = shape[:axis] + shape[axis + 1:]
    num_bins = length // 2 + 1
    amplitudes, weights = powerlaw_amplitudes(length, beta)
    white = standard_normal(key, others + (num_bins, 2), kind, jnp.float32)
    # Real-only bins: the real part alone, scaled to the power of a complex bin.
    real_scale = jnp.where(weights == 1.0, np.sqrt(2.0), 1.0)
    imag_scale = jnp.where(weights == 1.0, 0.0, 1.0)
    coeffs = amplitudes * jax.lax.complex(white[..., 0] * real_scale,
                                          white[..., 1] * imag_scale)
    signal = jnp.fft.irfft(coeffs, n=length, axis=-1)
    std = jnp.sqrt(2.0 * jnp.sum(weights * amplitudes ** 2)) / length
    return jnp.moveaxis(signal / std, -1, axis).astype(dtype)
