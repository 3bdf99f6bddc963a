"""Model predictive path integral control (MPPI) over Box action sequences."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jwm.checks import branch, check_choice, check_int, check_real, is_traced
from jwm.noise import NOISE_KINDS, standard_normal
from jwm.planners.base import (PlanInfo, Planner, box_geometry, keep_best, make_planner,
                               shift_plan, space_kind)
from jwm.planners.objective import make_evaluator

__all__ = ["mppi", "MPPIState", "smoothing_matrix"]


class MPPIState(NamedTuple):
    """Warm start carried between calls: the nominal sequence ``[H, *action_shape]``."""

    mean: jax.Array


def smoothing_matrix(horizon: int, smoothing) -> jax.Array:
    """``L [H, H]`` turning white noise into stationary AR(1) noise along time.

    ``n_0 = e_0`` and ``n_t = smoothing * n_{t-1} + sqrt(1 - smoothing**2) * e_t``, so
    every step keeps unit variance while neighbouring steps are correlated by
    ``smoothing``. As a matrix product the filter costs one small matmul instead of a
    sequential loop over the horizon. A concrete ``smoothing`` is computed in float64
    once; a traced one in float32.
    """
    xp = jnp if is_traced(smoothing) else np
    t = np.arange(horizon)
    lag = t[:, None] - t[None, :]
    mat = xp.where(lag >= 0, smoothing ** np.maximum(lag, 0), 0.0)
    mat = mat * xp.where(t > 0, xp.sqrt(1.0 - smoothing ** 2), 1.0)[None, :]
    return xp.asarray(mat, np.float32)


def mppi(model, action_space, *, horizon: int, population: int, iterations: int = 1,
         temperature: float = 1.0, noise_std: float | None = None, smoothing: float = 0.0,
         warm_start: bool = True, discount: float = 1.0, value_fn=None,
         particles: int = 1, noise: str = "hash") -> Planner:
    """Builds an MPPI planner (Williams et al.), for Box actions.

    Each iteration perturbs the nominal sequence with Gaussian noise of std
    ``noise_std`` (default a quarter of the action range), optionally correlated in time
    by ``smoothing``, clips to the bounds, and moves the nominal sequence to the
    return-weighted average ``sum_i softmax(R / temperature)_i * a_i``.

    Args:
      model: a `WorldModel`.
      action_space: a `Box` with finite bounds.
      horizon, population, iterations: as in `cem`.
      temperature: > 0, in units of return; lower is greedier.
      noise_std: > 0, exploration noise in action units.
      smoothing: in [0, 1), AR(1) correlation of the noise between steps.
      warm_start: shift the nominal sequence one step forward for the next call.
      discount, value_fn, particles: the objective, see `population_returns`.
      noise: ``"hash"`` (fast, default) or ``"threefry"``; see `jwm.noise`.

    Returns:
      `Planner` whose ``plan`` returns ``(action, MPPIState, PlanInfo)``.
    """
    name = "mppi"
    space_kind(action_space, name, allowed=("box",))
    horizon = check_int(name, "horizon", horizon)
    population = check_int(name, "population", population)
    iterations = check_int(name, "iterations", iterations)
    temperature = check_real(name, "temperature", temperature, low=0.0, low_open=True)
    smoothing = check_real(name, "smoothing", smoothing, low=0.0, high=1.0, high_open=True)
    noise = check_choice(name, "noise", noise, NOISE_KINDS)
    evaluate = make_evaluator(name, model, discount=discount, value_fn=value_fn,
                              particles=particles)
    low, high, centre, sigma = box_geometry(name, action_space, "noise_std", noise_std)
    filt = jnp.asarray(smoothing_matrix(horizon, smoothing))
    action_shape = tuple(action_space.shape)

    def init(key):
        del key
        return MPPIState(mean=jnp.broadcast_to(centre, (horizon,) + action_shape))

    def plan(plan_state, params, latent, key):
        def iteration(carry, iter_key):
            mean, best_seq, best_ret, nonfinite = carry
            k_noise, k_eval = jax.random.split(iter_key)
            white = standard_normal(k_noise, (population, horizon) + action_shape, noise)
            correlated = branch(smoothing > 0,
                                lambda: jnp.einsum("ts,ps...->pt...", filt, white),
                                lambda: white)
            actions = jnp.clip(mean + sigma * correlated, low, high)
            returns, bad = evaluate(params, latent, actions, k_eval)
            weights = jax.nn.softmax((returns - returns.max()) / temperature)
            mean = jnp.tensordot(weights, actions, axes=1)
            best_seq, best_ret = keep_best(best_seq, best_ret, actions, returns)
            return (mean, best_seq, best_ret, nonfinite + bad), jnp.dot(weights, returns)

        k_iters, k_final = jax.random.split(key)
        carry0 = (plan_state.mean, plan_state.mean, jnp.array(-jnp.inf, jnp.float32),
                  jnp.zeros((), jnp.int32))
        (mean, _, best_ret, nonfinite), iter_returns = jax.lax.scan(
            iteration, carry0, jax.random.split(k_iters, iterations))
        mean = jnp.clip(mean, low, high)
        mean_ret, bad = evaluate(params, latent, mean[None], k_final)
        next_mean = shift_plan(mean, centre) if warm_start else init(key).mean
        info = PlanInfo(plan=mean, predicted_return=mean_ret[0], best_return=best_ret,
                        iteration_returns=iter_returns, num_nonfinite=nonfinite + bad)
        return mean[0], MPPIState(mean=next_mean), info

    return make_planner(name, init, plan)
