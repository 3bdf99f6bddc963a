"""Supervised training on arrays held in memory: Adam steps on minibatches drawn with
replacement, as one jitted `lax.scan`. The offline models (inverse dynamics,
behaviour cloning, video diffusion, frame models) all train this way on
demonstrations; `jwm.models.fit` is the ensemble's own loop (bootstrap resamples,
hold-out selection)."""

from __future__ import annotations

import functools
from typing import Callable

import jax
import numpy as np
import optax

from jwm.checks import check_int, check_real
from jwm.keys import as_typed_key

__all__ = ["fit_minibatches", "compiled_programs"]


def fit_minibatches(loss: Callable, params, data: tuple, key, *, steps: int,
                    batch_size: int, learning_rate, clip_norm: float | None = None,
                    where: str = "fit_minibatches"):
    """``steps`` Adam steps on ``loss(params, *batch, key) -> (scalar, metrics)``.

    Each step draws ``batch_size`` rows (with replacement) of every array in ``data``
    (all ``[N, ...]``, the same ``N``) and a fresh key; the optimiser state is new for
    each call (``params`` is a warm start).

    Args:
      loss: a pure function; the same function object between calls reuses the
        compiled program.
      params: the parameters to train.
      data: a tuple of arrays ``[N, ...]``.
      key: PRNG key, typed or legacy.
      steps, batch_size: static ints >= 1.
      learning_rate: Adam's step size > 0; may be traced (no recompilation).
      clip_norm: when given, gradients are clipped to this global norm first (> 0;
        may be traced).
      where: the public function's name, for error messages.

    Returns:
      ``(params, losses [steps])``.
    """
    steps = check_int(where, "steps", steps)
    batch_size = check_int(where, "batch_size", batch_size)
    check_real(where, "learning_rate", learning_rate, low=0.0, low_open=True)
    if clip_norm is not None:
        check_real(where, "clip_norm", clip_norm, low=0.0, low_open=True)
    sizes = {np.shape(x)[0] if np.ndim(x) else None for x in data}
    if len(sizes) != 1 or None in sizes:
        raise ValueError(f"{where}: the training arrays must share their first axis, got "
                         f"shapes {[tuple(np.shape(x)) for x in data]}")
    if sizes == {0}:
        raise ValueError(f"{where}: there is nothing to train on (0 rows)")
    return _fit(loss, params, tuple(data), as_typed_key(key, where=where), learning_rate,
                clip_norm, steps=steps, batch_size=batch_size)


@functools.partial(jax.jit, static_argnames=("loss", "steps", "batch_size"))
def _fit(loss, params, data, key, learning_rate, clip_norm, *, steps, batch_size):
    tx = optax.adam(learning_rate)
    if clip_norm is not None:
        tx = optax.chain(optax.clip_by_global_norm(clip_norm), tx)
    grad = jax.value_and_grad(loss, has_aux=True)
    rows_total = data[0].shape[0]

    def step(carry, k):
        params, opt_state = carry
        k_rows, k_loss = jax.random.split(k)
        rows = jax.random.randint(k_rows, (batch_size,), 0, rows_total)
        (value, _), grads = grad(params, *(x[rows] for x in data), k_loss)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), value

    (params, _), losses = jax.lax.scan(step, (params, tx.init(params)),
                                       jax.random.split(key, steps))
    return params, losses


def compiled_programs() -> int:
    """How many programs `fit_minibatches` has compiled (for tests that check that a
    second call with the same loss and shapes compiles nothing)."""
    return _fit._cache_size()
