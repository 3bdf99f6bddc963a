"""Open-loop multi-step model error: how a world model's error compounds with horizon.

The simulation lemma bounds the gap between a model's ``k``-step predictions and the
real system by the one-step error summed over the steps, each term amplified by how
much the dynamics spread nearby states apart: with one-step error ``eps`` and a
Lipschitz constant ``L``, the ``k``-step state error is at most
``eps * (1 + L + ... + L**(k-1))`` — linear in ``k`` when ``L = 1``, exponential when
``L > 1``. `multistep_error` measures the actual curve on real trajectories and
`fit_growth` fits a power law and an exponential to it.

Prediction is *open loop*: from every start ``t`` the model encodes the real
observation at ``t`` and is then stepped through the real actions
``a_t, ..., a_{t+k-1}`` without ever seeing another real observation; its
prediction after ``k`` steps is compared with the real observation at ``t + k`` and its
predicted ``k``-step return with the real one.
"""

from __future__ import annotations

import functools
import numbers
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["GrowthFit", "MultistepError", "fit_growth", "mean_particle_obs",
           "multistep_error"]

_METRICS = ("euclidean", "rms")


class MultistepError(NamedTuple):
    """Open-loop ``k``-step errors for ``k = 1..H`` (index ``k - 1``).

    Attributes:
      state_error: ``[H]`` mean over valid starts of the distance between the predicted
        and the real observation ``k`` steps ahead.
      return_error: ``[H]`` mean over valid starts of ``|predicted - real|`` undiscounted
        ``k``-step return.
      count: ``[H]`` int32, the number of valid starts behind each entry.
      state_errors: ``[N, T, H]`` per start ``(n, t)`` and ``k``; NaN where not valid.
      return_errors: ``[N, T, H]`` likewise.
      valid: ``[N, T, H]`` bool, start ``t`` of trajectory ``n`` has ``k`` real steps
        ahead of it (``t + k <= T`` and every step ``t..t+k-1`` active).
    """

    state_error: jax.Array
    return_error: jax.Array
    count: jax.Array
    state_errors: jax.Array
    return_errors: jax.Array
    valid: jax.Array


def mean_particle_obs(latent) -> jax.Array:
    """The default ``decode``: the mean over particles, ``latent.obs [P, d] -> [d]``
    (the latent of `jwm.models.ensemble_model` and `jwm.models.mlp_model`)."""
    return jnp.mean(latent.obs, axis=0)


def multistep_error(model, params, observations, actions, rewards, *, horizon: int,
                    key=None, decode: Callable[[Any], jax.Array] | None = None,
                    next_observations=None, active=None, states=None,
                    metric: str = "euclidean") -> MultistepError:
    """Open-loop ``k``-step prediction error of ``model`` on real trajectories.

    From every start ``(n, t)`` the model encodes the real observation (or, for a model
    with ``observes_state``, the real env state) at ``t`` and steps through the real
    actions; the ``k``-step error for ``k = 1..horizon`` is measured against the real
    observation at ``t + k`` and the real rewards ``r_t + ... + r_{t+k-1}``. The whole
    evaluation is one jitted computation (vmap over starts, scan over ``k``), compiled
    once per (model, decode, shapes, horizon, metric).

    Args:
      model: any `WorldModel`.
      params: its parameters.
      observations: ``[N, T+1, d]`` real observations ``o_0..o_T`` of ``N``
        trajectories; or ``[N, T, d]`` (``o_0..o_{T-1}``, as in an `Episode`) together
        with ``next_observations``.
      actions: ``[N, T, *action_shape]``, ``a_t`` taken at ``o_t``.
      rewards: ``[N, T]``, the reward of each transition.
      horizon: H, the longest prediction, ``1 <= H <= T`` (static).
      key: PRNG key for the model's sampling (default ``jax.random.key(0)``); each
        start gets its own stream.
      decode: ``decode(latent) -> [d]``, the model's predicted observation; default
        `mean_particle_obs`. Pass the same function object across calls to reuse the
        compiled computation.
      next_observations: ``[N, T, d]``, ``o_1..o_T``; required iff ``observations``
        has ``T`` steps.
      active: ``[N, T]`` bool, the transition happened inside the episode (an
        `Episode`'s ``active``); default all true. Starts whose ``k`` steps are not all
        active are left out of the ``k`` entry.
      states: pytree of env states with leading ``[N, T, ...]`` or ``[N, T+1, ...]``
        axes, what ``encode`` gets when the model has ``observes_state`` (e.g. the true
        model); ``decode`` must then map the model's latent to an observation.
      metric: ``"euclidean"`` (``||pred - real||_2``) or ``"rms"`` (that divided by
        ``sqrt(d)``).

    Returns:
      a `MultistepError`.

    Raises:
      ValueError: mismatched shapes, ``horizon`` outside ``1..T``, unknown metric, or a
        state-observing model without ``states``.
    """
    name = "multistep_error"
    observations = jnp.asarray(observations, jnp.float32)
    actions = jnp.asarray(actions)
    rewards = jnp.asarray(rewards, jnp.float32)
    if observations.ndim != 3:
        raise ValueError(f"{name}: observations must have shape [N, T+1, d] (or [N, T, d] "
                         f"with next_observations), got {tuple(observations.shape)}")
    if rewards.ndim != 2:
        raise ValueError(f"{name}: rewards must have shape [N, T], got {tuple(rewards.shape)}")
    n, t = rewards.shape
    if t < 1 or n < 1:
        raise ValueError(f"{name}: need at least one trajectory of at least one step, got "
                         f"rewards of shape {(n, t)}")
    d = observations.shape[-1]
    if next_observations is not None:
        next_observations = jnp.asarray(next_observations, jnp.float32)
        if observations.shape != (n, t, d) or next_observations.shape != (n, t, d):
            raise ValueError(
                f"{name}: with next_observations, observations and next_observations must "
                f"both have shape [N, T, d] = {(n, t, d)} (rewards are [N, T] = {(n, t)}), "
                f"got {tuple(observations.shape)} and {tuple(next_observations.shape)}")
        observations = jnp.concatenate([observations, next_observations[:, -1:]], axis=1)
    elif observations.shape[:2] != (n, t + 1):
        raise ValueError(
            f"{name}: observations must have shape [N, T+1, d] = {(n, t + 1, d)} for rewards "
            f"of shape [N, T] = {(n, t)} (or pass [N, T, d] with next_observations), got "
            f"{tuple(observations.shape)}")
    if actions.ndim < 2 or actions.shape[:2] != (n, t):
        raise ValueError(f"{name}: actions must have shape [N, T, *action_shape] with "
                         f"[N, T] = {(n, t)}, got {tuple(actions.shape)}")
    if active is None:
        active = jnp.ones((n, t), bool)
    else:
        active = jnp.asarray(active)
        if active.shape != (n, t):
            raise ValueError(f"{name}: active must have shape [N, T] = {(n, t)}, got "
                             f"{tuple(active.shape)}")
        active = active.astype(bool)
    if isinstance(horizon, bool) or not isinstance(horizon, numbers.Integral):
        raise ValueError(f"{name}: horizon must be an int, got {horizon!r}")
    if not 1 <= horizon <= t:
        raise ValueError(f"{name}: horizon must satisfy 1 <= horizon <= T = {t} (the "
                         f"trajectories' length), got {horizon}")
    if metric not in _METRICS:
        raise ValueError(f"{name}: metric must be one of {list(_METRICS)}, got {metric!r}")
    if getattr(model, "observes_state", False):
        if states is None:
            raise ValueError(f"{name}: the model observes the env state (observes_state=True, "
                             f"e.g. the true model); pass states=[N, T(+1), ...] and a decode "
                             f"from its latent to an observation")
        leaves = jax.tree.leaves(states)
        bad = [tuple(jnp.shape(x)) for x in leaves
               if jnp.ndim(x) < 2 or tuple(jnp.shape(x)[:2]) not in ((n, t), (n, t + 1))]
        if not leaves or bad:
            raise ValueError(f"{name}: every leaf of states must have leading axes [N, T] or "
                             f"[N, T+1] = {(n, t)} or {(n, t + 1)}, got {bad}")
        states = jax.tree.map(lambda x: jnp.asarray(x)[:, :t], states)
        if decode is None:
            raise ValueError(f"{name}: a state-observing model needs decode(latent) -> obs")
    else:
        states = observations[:, :t]
    if key is None:
        key = jax.random.key(0)
    if decode is None:
        decode = mean_particle_obs
    return _multistep(model, decode, int(horizon), metric, params, states, observations,
                      actions, rewards, active, key)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _multistep(model, decode, horizon, metric, params, inputs, observations, actions,
               rewards, active, key):
    n, t = rewards.shape
    d = observations.shape[-1]
    h = horizon
    # Pad the time axis by H so every start can slice a full window; the padding is
    # never counted (the validity mask excludes it).
    pad = lambda x: jnp.concatenate([x, jnp.repeat(x[:, -1:], h, axis=1)], axis=1)
    obs_p, act_p, rew_p = pad(observations), pad(actions), pad(rewards)
    act_mask = jnp.concatenate([active, jnp.zeros((n, h), bool)], axis=1)

    def one_start(inp, obs_seq, act_seq, rew_seq, k_start):
        """inputs at t; windows of H: real next obs [H, d], actions [H, ...], rewards [H]."""
        latent0 = model.encode(params, inp)

        def body(carry, xs):
            latent, ret = carry
            action, step_key = xs
            latent, reward, _ = model.step(params, latent, action, step_key)
            ret = ret + reward
            return (latent, ret), (decode(latent), ret)

        keys = jax.random.split(k_start, h)
        _, (pred_obs, pred_ret) = jax.lax.scan(body, (latent0, jnp.zeros((), jnp.float32)),
                                               (act_seq, keys))
        diff = pred_obs.astype(jnp.float32) - obs_seq
        dist = jnp.sqrt(jnp.sum(diff ** 2, -1))
        if metric == "rms":
            dist = dist / jnp.sqrt(jnp.float32(d))
        return dist, jnp.abs(pred_ret - jnp.cumsum(rew_seq))

    starts = jnp.arange(t)
    window = lambda x, s, off: jax.lax.dynamic_slice_in_dim(x, s + off, h, axis=0)

    def per_trajectory(i, inp, obs, act, rew, act_ok):
        k_traj = jax.random.fold_in(key, i)

        def at(s):
            inp_s = jax.tree.map(lambda x: x[s], inp)
            return one_start(inp_s, window(obs, s, 1), window(act, s, 0), window(rew, s, 0),
                             jax.random.fold_in(k_traj, s))

        dist, ret_err = jax.vmap(at)(starts)
        # valid[s, k-1]: steps s..s+k-1 all active (and inside the data).
        ok = jax.vmap(lambda s: jnp.cumprod(window(act_ok, s, 0).astype(jnp.int32)) > 0)(starts)
        return dist, ret_err, ok

    dist, ret_err, valid = jax.vmap(per_trajectory)(
        jnp.arange(n), inputs, obs_p, act_p, rew_p, act_mask)
    count = valid.sum((0, 1)).astype(jnp.int32)
    mean = lambda x: jnp.where(valid, x, 0.0).sum((0, 1)) / jnp.maximum(count, 1)
    nan_out = lambda x: jnp.where(valid, x, jnp.nan)
    return MultistepError(state_error=mean(dist), return_error=mean(ret_err), count=count,
                          state_errors=nan_out(dist), return_errors=nan_out(ret_err),
                          valid=valid)


class GrowthFit(NamedTuple):
    """Least-squares fits of an error curve's growth with the horizon ``k``.

    Both are fitted to ``log err`` (so relative errors count equally at every ``k``)
    and their R² is that of ``log err``, which makes them comparable.

    Attributes:
      power_a, power_b: ``err ≈ power_a * k ** power_b`` (log-log line).
      power_r2: R² of that line.
      exp_a, exp_c: ``err ≈ exp_a * exp(exp_c * k)`` (log-linear line).
      exp_r2: R² of that line.
      better: ``"power"`` or ``"exponential"``, the higher R².
    """

    power_a: float
    power_b: float
    power_r2: float
    exp_a: float
    exp_c: float
    exp_r2: float
    better: str

    def as_dict(self) -> dict:
        return {k: (v if isinstance(v, str) else float(v)) for k, v in self._asdict().items()}


def fit_growth(k, err) -> GrowthFit:
    """Fits a power law ``a * k**b`` and an exponential ``a * exp(c * k)`` to ``err``.

    Args:
      k: ``[H]`` positive horizons (e.g. ``1..H``).
      err: ``[H]`` positive, finite errors at those horizons.

    Returns:
      a `GrowthFit` (host floats).

    Raises:
      ValueError: mismatched or too short (< 2 points) inputs, non-positive ``k`` or
        ``err``, non-finite values, or all ``k`` equal.
    """
    k = np.asarray(k, np.float64)
    err = np.asarray(err, np.float64)
    if k.ndim != 1 or err.shape != k.shape:
        raise ValueError(f"fit_growth: k and err must be 1-D of the same length, got shapes "
                         f"{k.shape} and {err.shape}")
    if k.size < 2:
        raise ValueError(f"fit_growth: need at least 2 points, got {k.size}")
    if not (np.all(np.isfinite(k)) and np.all(np.isfinite(err))):
        raise ValueError("fit_growth: k and err must be finite")
    if np.any(k <= 0) or np.any(err <= 0):
        raise ValueError("fit_growth: k and err must be positive (the fits are in log space)")
    if np.ptp(k) == 0:
        raise ValueError("fit_growth: k must take at least two distinct values")
    y = np.log(err)

    def line(x):
        slope, intercept = np.polyfit(x, y, 1)
        resid = y - (slope * x + intercept)
        total = np.sum((y - y.mean()) ** 2)
        r2 = 1.0 - np.sum(resid ** 2) / total if total > 0 else 1.0
        return slope, intercept, r2

    b, log_a, r2_pow = line(np.log(k))
    c, log_a_exp, r2_exp = line(k)
    return GrowthFit(power_a=float(np.exp(log_a)), power_b=float(b), power_r2=float(r2_pow),
                     exp_a=float(np.exp(log_a_exp)), exp_c=float(c), exp_r2=float(r2_exp),
                     better="power" if r2_pow >= r2_exp else "exponential")
