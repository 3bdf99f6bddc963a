"""The cross-entropy method (CEM) over action sequences, for Box and Discrete actions."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jwm.checks import check_choice, check_int, check_real
from jwm.noise import NOISE_KINDS, standard_normal
from jwm.planners.base import (PlanInfo, Planner, box_geometry, chosen_plan, elite_count,
                               keep_best, make_planner, shift_plan, space_kind)
from jwm.planners.objective import make_evaluator

__all__ = ["cem", "CEMState"]


class CEMState(NamedTuple):
    """Warm start carried between `plan` calls.

    Attributes:
      mean: Box: ``[H, *action_shape]`` sampling mean. Discrete: ``[H, n]`` probabilities.
    """

    mean: jax.Array


def cem(model, action_space, *, horizon: int, population: int, elite_frac: float = 0.1,
        iterations: int = 5, num_elites: int | None = None, alpha: float = 0.0,
        init_std: float | None = None, min_std: float = 0.0, sampling: str = "clip",
        return_mode: str = "mean", warm_start: bool = True, discount: float = 1.0,
        value_fn=None, particles: int = 1, noise: str = "hash") -> Planner:
    """Builds a CEM planner.

    Each of ``iterations`` rounds samples ``population`` sequences, scores them with the
    model, and refits the sampling distribution to the ``num_elites`` best:
    ``new = alpha * old + (1 - alpha) * elite_statistic``.

    Box actions: per-step independent Gaussians. ``sampling="clip"`` clips samples to
    the bounds; ``"truncated"`` samples a Gaussian truncated to them. The std starts at
    ``init_std`` (default a quarter of the action range) every call and never falls
    below ``min_std``.

    Discrete actions: per-step categorical distributions ``[H, n]``, refit to the elite
    action frequencies (``init_std``, ``min_std`` and ``sampling`` do not apply).

    Args:
      model: a `WorldModel`.
      action_space: `Box` (finite bounds) or `Discrete`.
      horizon: H, steps planned ahead.
      population: sequences sampled per iteration.
      elite_frac: fraction in (0, 1] kept as elites (``ceil(elite_frac * population)``).
      iterations: refits per call.
      num_elites: overrides ``elite_frac`` when given; 1..population.
      alpha: momentum in [0, 1) of the distribution update.
      return_mode: ``"mean"`` acts on the final mean (Discrete: its most likely
        action); ``"best"`` on the best sequence seen in this call.
      warm_start: shift the final mean one step forward for the next call (the new
        last step starts at the centre of the action space / uniform).
      discount, value_fn, particles: the objective, see `population_returns`.
      noise: Gaussian source for ``sampling="clip"``: ``"hash"`` (fast, default) or
        ``"threefry"`` (``jax.random.normal``); see `jwm.noise`.

    Returns:
      `Planner` whose ``plan`` returns ``(action [*action_shape], CEMState, PlanInfo)``.
    """
    name = "cem"
    kind = space_kind(action_space, name)
    horizon = check_int(name, "horizon", horizon)
    population = check_int(name, "population", population)
    iterations = check_int(name, "iterations", iterations)
    elite_frac, num_elites = elite_count(name, population, elite_frac, num_elites)
    alpha = check_real(name, "alpha", alpha, low=0.0, high=1.0, high_open=True)
    min_std = check_real(name, "min_std", min_std, low=0.0)
    sampling = check_choice(name, "sampling", sampling, ("clip", "truncated"))
    return_mode = check_choice(name, "return_mode", return_mode, ("mean", "best"))
    noise = check_choice(name, "noise", noise, NOISE_KINDS)
    evaluate = make_evaluator(name, model, discount=discount, value_fn=value_fn,
                              particles=particles)

    if kind == "box":
        low, high, fresh_step, std0 = box_geometry(name, action_space, "init_std", init_std)
        std0 = jnp.broadcast_to(jnp.maximum(std0, min_std), (horizon,) + action_space.shape)
        sample, refit, to_sequence = _box_ops(low, high, population, sampling, min_std, noise)
    else:
        n = action_space.n
        std0 = None
        fresh_step = jnp.full((n,), 1.0 / n, jnp.float32)
        sample, refit, to_sequence = _discrete_ops(n, population)

    def init(key):
        del key
        return CEMState(mean=jnp.broadcast_to(fresh_step, (horizon,) + fresh_step.shape))

    def plan(plan_state, params, latent, key):
        def iteration(carry, iter_key):
            dist, best_seq, best_ret, nonfinite = carry
            k_sample, k_eval = jax.random.split(iter_key)
            actions = sample(k_sample, dist)
            returns, bad = evaluate(params, latent, actions, k_eval)
            _, elite_idx = jax.lax.top_k(returns, num_elites)
            new_dist = refit(dist, actions[elite_idx], alpha)
            best_seq, best_ret = keep_best(best_seq, best_ret, actions, returns)
            return (new_dist, best_seq, best_ret, nonfinite + bad), returns[elite_idx].mean()

        k_iters, k_final = jax.random.split(key)
        dist0 = (plan_state.mean,) if std0 is None else (plan_state.mean, std0)
        seq0 = to_sequence(plan_state.mean)
        carry0 = (dist0, seq0, jnp.array(-jnp.inf, jnp.float32), jnp.zeros((), jnp.int32))
        (dist, best_seq, best_ret, nonfinite), iter_returns = jax.lax.scan(
            iteration, carry0, jax.random.split(k_iters, iterations))
        mean = dist[0]
        chosen, chosen_ret, nonfinite = chosen_plan(return_mode, best_seq, best_ret,
                                                    to_sequence(mean), evaluate, params,
                                                    latent, k_final, nonfinite)
        next_mean = shift_plan(mean, fresh_step) if warm_start else init(key).mean
        info = PlanInfo(plan=chosen, predicted_return=chosen_ret, best_return=best_ret,
                        iteration_returns=iter_returns, num_nonfinite=nonfinite)
        return chosen[0], CEMState(mean=next_mean), info

    return make_planner(name, init, plan)


def _box_ops(low, high, population, sampling, min_std, noise):
    """Sampling, refitting and sequence extraction for per-step Gaussians."""

    def sample(key, dist):
        mean, std = dist
        shape = (population,) + mean.shape
        if sampling == "truncated":
            lo = (low - mean) / std
            hi = (high - mean) / std
            z = jax.random.truncated_normal(key, lo, hi, shape, mean.dtype)
            return jnp.clip(mean + std * z, low, high)
        return jnp.clip(mean + std * standard_normal(key, shape, noise, mean.dtype), low, high)

    def refit(dist, elites, alpha):
        mean, std = dist
        new_mean = alpha * mean + (1 - alpha) * elites.mean(0)
        new_std = alpha * std + (1 - alpha) * elites.std(0)
        return new_mean, jnp.maximum(new_std, min_std)

    def to_sequence(mean):
        # The mean of clipped samples stays in bounds; clipping again guards NaN-free
        # user-supplied warm starts.
        return jnp.clip(mean, low, high)

    return sample, refit, to_sequence


def _discrete_ops(n, population):
    """Sampling, refitting and sequence extraction for per-step categoricals."""

    def sample(key, dist):
        (probs,) = dist
        logits = jnp.log(jnp.maximum(probs, 1e-30))
        return jax.random.categorical(key, logits, axis=-1, shape=(population, probs.shape[0])).astype(jnp.int32)

    def refit(dist, elites, alpha):
        (probs,) = dist
        freq = jax.nn.one_hot(elites, n, dtype=probs.dtype).mean(0)
        return (alpha * probs + (1 - alpha) * freq,)

    def to_sequence(probs):
        return jnp.argmax(probs, axis=-1).astype(jnp.int32)

    return sample, refit, to_sequence
