"""Training an `EnsembleModel` on transitions: one jitted, fixed-epoch function.

Each member trains on its own bootstrap resample of the training split (Gaussian
negative log-likelihood plus the penalty on the learned log-variance bounds, or squared
error for a deterministic model). A random hold-out split scores every member after
each epoch, and each member keeps the weights of its best epoch.

The data is a fixed-capacity array with a validity mask (a replay buffer's storage),
so the number of minibatches per epoch is a traced quantity: the loops are
``fori_loop``s with traced bounds, and the function compiles once for every fill level.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jwm.checks import check_int, check_real
from jwm.keys import as_typed_key
from jwm.models.normalizer import fit_normalizer

__all__ = ["Transitions", "FitInfo", "fit", "ensemble_loss", "validation_error"]


class Transitions(NamedTuple):
    """A batch of ``M`` transitions (a leading ``[M]`` axis on every field).

    Attributes:
      obs: ``[M, obs_dim]``.
      action: ``[M, *action_shape]``.
      reward: ``[M]``.
      next_obs: ``[M, obs_dim]``.
      valid: ``[M]`` bool, the row holds a real transition.
    """

    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    next_obs: jax.Array
    valid: jax.Array


class FitInfo(NamedTuple):
    """What one `fit` call measured.

    Attributes:
      train_loss: ``[epochs]`` mean training loss per epoch (summed over members).
      val_error: ``[epochs, E]`` hold-out mean squared error of each member's mean
        prediction after each epoch (normalised target units).
      best_val_error: ``[E]``, the hold-out error of the weights kept.
      num_train, num_val: int32 sizes of the split.
    """

    train_loss: jax.Array
    val_error: jax.Array
    best_val_error: jax.Array
    num_train: jax.Array
    num_val: jax.Array


def ensemble_loss(model, net, x, y, mask, *, logvar_penalty: float = 0.01):
    """Training loss of every member on its own minibatch, summed over members.

    Args:
      x: ``[E, B, in]`` normalised inputs.
      y: ``[E, B, out]`` normalised targets.
      mask: ``[E, B]``, rows that count.

    Returns:
      a scalar: per member, the masked mean over rows of the per-dimension Gaussian
      NLL (constant dropped) or squared error, summed over members; plus
      ``logvar_penalty * (sum max_logvar - sum min_logvar)`` for a probabilistic model.
    """
    mean, logvar = model.forward(net, x)
    if logvar is None:
        per_row = jnp.mean((mean - y) ** 2, -1)
    else:
        per_row = 0.5 * jnp.mean((mean - y) ** 2 * jnp.exp(-logvar) + logvar, -1)
    mask = mask.astype(per_row.dtype)
    per_member = (mask * per_row).sum(-1) / jnp.maximum(mask.sum(-1), 1.0)
    loss = per_member.sum()
    if logvar is not None:
        bounds = net["params"]
        loss = loss + logvar_penalty * (bounds["max_logvar"].sum() - bounds["min_logvar"].sum())
    return loss


def validation_error(model, net, x, y, mask):
    """``[E]`` masked mean squared error of each member's mean on ``x [B, in]``."""
    e = model.ensemble_size
    mean, _ = model.forward(net, jnp.broadcast_to(x, (e,) + x.shape))
    per_row = jnp.mean((mean - y) ** 2, -1)
    m = mask.astype(per_row.dtype)
    return (m * per_row).sum(-1) / jnp.maximum(m.sum(), 1.0)


def fit(model, params, data: Transitions, key, *, epochs: int = 50, batch_size: int = 32,
        learning_rate: float = 1e-3, weight_decay: float = 5e-5, holdout_ratio: float = 0.1,
        bootstrap: bool = True, logvar_penalty: float = 0.01, max_val_rows: int | None = None):
    """Trains ``model`` on the valid rows of ``data``; jit- and vmap-friendly.

    The normalisers are refit to the data first; the network weights are warm-started
    from ``params`` and trained with AdamW (a fresh optimiser state per call).

    Args:
      model: an `EnsembleModel`.
      params: its `EnsembleParams`.
      data: `Transitions` with ``M`` rows; rows with ``valid`` false are ignored.
      key: PRNG key, typed or legacy (split, bootstrap, shuffles).
      epochs: passes over the training split (static).
      batch_size: rows per member per gradient step (static). Clamped to the most
        training rows ``data`` can hold (``M`` less the hold-out of a full buffer), so
        that 10 transitions train in one batch of 9 rather than fail; the clamp only
        drops padding rows, which the loss masks out.
      holdout_ratio: fraction in [0, 1) of valid rows held out for validation (at
        least one once there are two valid rows); with 0 the last epoch's weights are
        kept.
      bootstrap: each member resamples the training split with replacement; otherwise
        each member sees the whole split in its own order.
      max_val_rows: static cap on validation rows (default ``ceil(M * holdout_ratio)``).
      learning_rate, weight_decay, logvar_penalty: AdamW's step size and decoupled
        weight decay, and the log-variance bounds' penalty; each may be a traced scalar
        (e.g. vmapped over a sweep). ``holdout_ratio`` fixes shapes and may not.

    Returns:
      ``(params, FitInfo)``.
    """
    _check_fit_args(model, data, epochs, batch_size, learning_rate, weight_decay,
                    holdout_ratio, logvar_penalty)
    key = as_typed_key(key, "key", where="fit")
    capacity = data.valid.shape[0]
    e = model.ensemble_size
    if max_val_rows is None:
        max_val_rows = max(1, int(-(-capacity * holdout_ratio // 1)))
    batch_size = min(batch_size, _max_train_rows(capacity, holdout_ratio, max_val_rows))

    x_raw = model.features(data.obs, data.action)
    y_raw = model.targets(data.obs, data.action, data.reward, data.next_obs)
    input_norm = fit_normalizer(x_raw, data.valid)
    target_norm = fit_normalizer(y_raw, data.valid)
    x = input_norm.normalize(x_raw)
    y = target_norm.normalize(y_raw)
    params = params._replace(input_norm=input_norm, target_norm=target_norm)

    k_split, k_boot, k_epochs = jax.random.split(key, 3)
    # Valid rows first, in random order; the first num_val of them are held out.
    n_valid = data.valid.sum().astype(jnp.int32)
    order = jnp.argsort(jnp.where(data.valid, jax.random.uniform(k_split, (capacity,)), 2.0))
    if holdout_ratio > 0:
        wanted = jnp.maximum(jnp.floor(n_valid * holdout_ratio).astype(jnp.int32), 1)
        num_val = jnp.where(n_valid >= 2, jnp.minimum(wanted, max_val_rows), 0)
    else:
        num_val = jnp.zeros((), jnp.int32)
    num_train = n_valid - num_val
    val_rows = order[:max_val_rows]
    val_mask = jnp.arange(max_val_rows) < num_val

    # Each member's list of training rows: [E, capacity], only the first num_train used.
    if bootstrap:
        picks = jax.random.randint(k_boot, (e, capacity), 0, jnp.maximum(num_train, 1))
    else:
        picks = jnp.broadcast_to(jnp.arange(capacity), (e, capacity))
    member_rows = order[num_val + picks]
    num_batches = (num_train + batch_size - 1) // batch_size

    tx = optax.adamw(learning_rate, weight_decay=weight_decay)
    loss_fn = lambda net, xb, yb, mb: ensemble_loss(model, net, xb, yb, mb,
                                                    logvar_penalty=logvar_penalty)
    grad_fn = jax.value_and_grad(loss_fn)

    def epoch(i, carry):
        net, opt_state, best_net, best_err, losses, errors = carry
        k_shuffle = jax.random.fold_in(k_epochs, i)
        # Shuffle each member's first num_train entries, leaving the rest in place.
        positions = jnp.arange(capacity)
        keys = jax.random.uniform(k_shuffle, (e, capacity))
        perm = jnp.argsort(jnp.where(positions < num_train, keys, 2.0 + positions), axis=1)
        rows = jnp.take_along_axis(member_rows, perm, 1)
        # Padding so the last (partial, masked) minibatch can be sliced at full size.
        rows = jnp.concatenate([rows, rows[:, :batch_size]], 1)

        def minibatch(b, inner):
            net, opt_state, total = inner
            start = b * batch_size
            idx = jax.lax.dynamic_slice_in_dim(rows, start, batch_size, axis=1)
            mask = jnp.broadcast_to(start + jnp.arange(batch_size) < num_train, idx.shape)
            loss, grads = grad_fn(net, x[idx], y[idx], mask)
            updates, opt_state = tx.update(grads, opt_state, net)
            return optax.apply_updates(net, updates), opt_state, total + loss

        net, opt_state, total = jax.lax.fori_loop(
            0, num_batches, minibatch, (net, opt_state, jnp.zeros((), jnp.float32)))
        err = validation_error(model, net, x[val_rows], y[val_rows], val_mask)
        better = err < best_err if holdout_ratio > 0 else jnp.ones((e,), bool)
        best_net = jax.tree.map(
            lambda new, old: jnp.where(better.reshape((e,) + (1,) * (new.ndim - 1)), new, old),
            net, best_net)
        best_err = jnp.where(better, err, best_err)
        losses = losses.at[i].set(total / jnp.maximum(num_batches, 1))
        errors = errors.at[i].set(err)
        return net, opt_state, best_net, best_err, losses, errors

    net0 = params.net
    carry0 = (net0, tx.init(net0), net0, jnp.full((e,), jnp.inf, jnp.float32),
              jnp.zeros((epochs,), jnp.float32), jnp.zeros((epochs, e), jnp.float32))
    _, _, best_net, best_err, losses, errors = jax.lax.fori_loop(0, epochs, epoch, carry0)
    info = FitInfo(train_loss=losses, val_error=errors, best_val_error=best_err,
                   num_train=num_train, num_val=num_val)
    return params._replace(net=best_net), info


def _max_train_rows(capacity, holdout_ratio, max_val_rows) -> int:
    """An upper bound on ``num_train`` that depends on static shapes only.

    ``num_train = n_valid - num_val`` never decreases as ``n_valid`` grows, so a full
    buffer bounds it. A minibatch wider than ``capacity`` could not even be sliced
    from the padded row list in `fit`. The hold-out is rounded in float32, as `fit`
    computes it, so the bound is never below the traced value.
    """
    if holdout_ratio == 0 or capacity < 2:
        return capacity
    wanted = int(np.floor(np.float32(capacity) * np.float32(holdout_ratio)))
    return capacity - min(max(wanted, 1), max_val_rows)


def _check_fit_args(model, data, epochs, batch_size, learning_rate, weight_decay,
                    holdout_ratio, logvar_penalty):
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        check_int("fit", name, value)
    check_real("fit", "learning_rate", learning_rate, low=0.0, low_open=True)
    check_real("fit", "weight_decay", weight_decay, low=0.0)
    check_real("fit", "logvar_penalty", logvar_penalty, low=0.0)
    # The hold-out fixes the validation rows' shape.
    check_real("fit", "holdout_ratio", holdout_ratio, low=0.0, high=1.0, high_open=True,
               static=True)
    if not isinstance(data, Transitions):
        raise TypeError(f"fit: data must be a jwm.models.Transitions, got {type(data).__name__}")
    m = data.valid.shape[0]
    concrete = not isinstance(data.valid, jax.core.Tracer)
    # NumPy, not jnp: under jit even a constant's jnp.any is traced.
    if m == 0 or (concrete and not np.any(np.asarray(data.valid))):
        raise ValueError("fit: data has no valid transition (an empty buffer); "
                         "collect transitions first")
    obs_shape = (m,) + tuple(model.obs_shape)
    for field in ("obs", "next_obs"):
        if tuple(getattr(data, field).shape) != obs_shape:
            raise ValueError(f"fit: data.{field} must have shape {obs_shape} (rows, obs_dim), "
                             f"got {tuple(getattr(data, field).shape)}")
    if tuple(data.reward.shape) != (m,):
        raise ValueError(f"fit: data.reward must have shape {(m,)}, got {tuple(data.reward.shape)}")
    action_shape = (m,) + tuple(model.action_shape)
    if tuple(data.action.shape) != action_shape:
        raise ValueError(f"fit: data.action must have shape {action_shape} (rows, *action_shape "
                         f"of the model), got {tuple(data.action.shape)}")
