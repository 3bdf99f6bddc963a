"""Improved CEM (iCEM, Pinneri et al. 2020): sample-efficient CEM over Box actions."""

from __future__ import annotations

import itertools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jwm.checks import check_choice, check_int, check_real
from jwm.noise import NOISE_KINDS
from jwm.planners.base import (PlanInfo, Planner, box_geometry, chosen_plan, elite_count,
                               keep_best, make_planner, shift_plan, space_kind)
from jwm.planners.colored_noise import colored_normal
from jwm.planners.objective import make_evaluator

__all__ = ["icem", "ICEMState", "icem_schedule"]


class ICEMState(NamedTuple):
    """Warm start carried between `plan` calls.

    Attributes:
      mean: ``[H, *action_shape]`` sampling mean, shifted one step.
      std: ``[H, *action_shape]`` sampling std, shifted one step (used only with
        ``reset_std=False``).
      elites: ``[E, H, *action_shape]`` the best ``E`` sequences of the last call,
        shifted one step; re-scored as candidates in the next call's first iteration.
      has_elites: bool scalar; False before the first call (``elites`` are then
        placeholders that never enter the elite set).
    """

    mean: jax.Array
    std: jax.Array
    elites: jax.Array
    has_elites: jax.Array


def icem_schedule(population: int, iterations: int, population_decay: float,
                  num_elites: int, num_kept: int = 0) -> tuple[tuple[int, int], ...]:
    """The static ``(samples, candidates)`` of each iteration.

    ``samples_i = max(round(population / population_decay**i), min(2 * num_elites,
    population))``: new draws shrink by ``population_decay`` per iteration but never
    below twice the elites (the paper's floor), so the elites always come from a
    real choice. ``candidates_i = samples_i + num_kept (+ 1 on the last iteration,
    the mean)``: the sequences the model scores, i.e. this iteration's model calls
    are ``candidates_i * horizon * particles`` steps.
    """
    floor = min(2 * num_elites, population)
    sizes = []
    for i in range(iterations):
        samples = max(int(round(population / population_decay ** i)), floor)
        sizes.append((samples, samples + num_kept + (i == iterations - 1)))
    return tuple(sizes)


def icem(model, action_space, *, horizon: int, population: int, iterations: int = 3,
         elite_frac: float = 0.1, num_elites: int | None = None, alpha: float = 0.1,
         noise_beta: float = 2.0, keep_elites_fraction: float = 0.3,
         population_decay: float = 1.25, init_std: float | None = None,
         reset_std: bool = True, return_mode: str = "best", warm_start: bool = True,
         discount: float = 1.0, value_fn=None, particles: int = 1,
         noise: str = "hash") -> Planner:
    """Builds an iCEM planner (Box actions only).

    Per call: the mean starts from the previous call's shifted mean, the std from
    ``init_std`` (``reset_std``, as in the paper) or the shifted std. Iteration ``i``
    draws ``samples_i`` sequences ``clip(mean + std * noise)`` where ``noise`` has a
    ``1 / f**noise_beta`` spectrum along the horizon (`colored_normal`), adds the
    ``E = round(keep_elites_fraction * num_elites)`` best sequences kept from the
    previous iteration (in the first iteration: the previous call's elites, shifted)
    and, in the last iteration, the mean itself; scores all of them; takes the
    ``num_elites`` best as elites; and refits ``new = alpha * old + (1 - alpha) *
    elite_statistic`` for the mean and the std. ``samples_i`` shrinks by
    ``population_decay`` per iteration (`icem_schedule`); iterations of equal size
    share one ``lax.scan``.

    Args:
      model: a `WorldModel`.
      action_space: a `Box` with finite bounds (colored noise has no meaning for
        Discrete actions: a TypeError says so).
      horizon: H, steps planned ahead.
      population: sequences drawn in the first iteration.
      iterations: refits per call.
      elite_frac, num_elites: elites per iteration, as in `cem`.
      alpha: momentum in [0, 1) of the refit (may be traced).
      noise_beta: >= 0, the noise's spectral exponent (0: white, 2: red; may be traced).
      keep_elites_fraction: in [0, 1], the fraction of elites carried to the next
        iteration and, shifted, to the next call (static: it fixes a shape).
      population_decay: >= 1, the factor the draws shrink by per iteration (static).
      init_std: > 0, the first std in action units (default a quarter of the range).
      reset_std: start every call from ``init_std`` (the paper) instead of the shifted
        std of the last call.
      return_mode: ``"best"`` (default, as in the paper) acts on the best sequence
        scored in this call, which includes the kept elites and the final mean;
        ``"mean"`` acts on the final mean and scores it once more.
      warm_start: shift the mean, std and elites one step for the next call (the new
        last step starts at the centre of the box, with ``init_std``).
      discount, value_fn, particles: the objective, see `population_returns`.
      noise: white-noise source under the colored noise: ``"hash"`` or ``"threefry"``.

    Returns:
      `Planner` whose ``plan`` returns ``(action [*action_shape], ICEMState, PlanInfo)``;
      ``PlanInfo.iteration_returns`` is the elites' mean return per iteration.
    """
    name = "icem"
    if space_kind(action_space, name, allowed=("box", "discrete")) == "discrete":
        raise TypeError(f"{name}: action_space must be a Box space (colored noise along "
                        f"the horizon needs continuous actions; use cem for Discrete), "
                        f"got {action_space!r}")
    horizon = check_int(name, "horizon", horizon)
    population = check_int(name, "population", population)
    iterations = check_int(name, "iterations", iterations)
    elite_frac, num_elites = elite_count(name, population, elite_frac, num_elites)
    alpha = check_real(name, "alpha", alpha, low=0.0, high=1.0, high_open=True)
    noise_beta = check_real(name, "noise_beta", noise_beta, low=0.0)
    keep_elites_fraction = check_real(name, "keep_elites_fraction", keep_elites_fraction,
                                      low=0.0, high=1.0, static=True)
    population_decay = check_real(name, "population_decay", population_decay, low=1.0,
                                  static=True)
    return_mode = check_choice(name, "return_mode", return_mode, ("mean", "best"))
    noise = check_choice(name, "noise", noise, NOISE_KINDS)
    evaluate = make_evaluator(name, model, discount=discount, value_fn=value_fn,
                              particles=particles)
    low, high, centre, std0 = box_geometry(name, action_space, "init_std", init_std)
    action_shape = tuple(action_space.shape)
    seq_shape = (horizon,) + action_shape
    num_kept = int(round(float(keep_elites_fraction) * num_elites))
    schedule = icem_schedule(population, iterations, float(population_decay), num_elites,
                             num_kept)

    def init(key):
        del key
        return ICEMState(mean=jnp.broadcast_to(centre, seq_shape),
                         std=jnp.broadcast_to(std0, seq_shape),
                         elites=jnp.broadcast_to(centre, (num_kept,) + seq_shape),
                         has_elites=jnp.zeros((), bool))

    def plan(plan_state, params, latent, key):
        def make_iteration(samples, last):
            return _refit_iteration(lambda c, k: evaluate(params, latent, c, k), samples,
                                    last, seq_shape=seq_shape, low=low, high=high,
                                    num_kept=num_kept, num_elites=num_elites, alpha=alpha,
                                    noise_beta=noise_beta, noise=noise)

        k_iters, k_final = jax.random.split(key)
        iter_keys = jax.random.split(k_iters, iterations)
        std = std0 if reset_std else plan_state.std
        carry = ((plan_state.mean, jnp.broadcast_to(std, seq_shape)), plan_state.elites,
                 plan_state.has_elites, jnp.clip(plan_state.mean, low, high),
                 jnp.array(-jnp.inf, jnp.float32), jnp.zeros((), jnp.int32))
        iter_returns, start = [], 0
        for (samples, _), group in itertools.groupby(
                enumerate(schedule), key=lambda item: (item[1][0], item[0] == iterations - 1)):
            count = len(list(group))
            carry, rets = jax.lax.scan(make_iteration(samples, start + count == iterations),
                                       carry, iter_keys[start:start + count])
            iter_returns.append(rets)
            start += count
        (mean, std), kept, _, best_seq, best_ret, nonfinite = carry
        chosen, chosen_ret, nonfinite = chosen_plan(return_mode, best_seq, best_ret,
                                                    jnp.clip(mean, low, high), evaluate,
                                                    params, latent, k_final, nonfinite)
        if warm_start:
            next_state = ICEMState(
                mean=shift_plan(mean, centre), std=shift_plan(std, std0),
                elites=jax.vmap(shift_plan, in_axes=(0, None))(kept, centre),
                has_elites=jnp.ones((), bool))
        else:
            next_state = init(None)
        info = PlanInfo(plan=chosen, predicted_return=chosen_ret, best_return=best_ret,
                        iteration_returns=jnp.concatenate(iter_returns),
                        num_nonfinite=nonfinite)
        return chosen[0], next_state, info

    return make_planner(name, init, plan)


def _refit_iteration(evaluate, samples: int, last: bool, *, seq_shape, low, high,
                     num_kept: int, num_elites: int, alpha, noise_beta, noise: str):
    """One iCEM iteration as a `lax.scan` body over ``(carry, key)``: draw ``samples``
    colored-noise sequences around the mean, add the kept elites (and, ``last``, the
    mean), score them with ``evaluate(candidates, key) -> (returns, non-finite)``, refit
    the mean and std to the elites; it returns the elites' mean return."""

    def iteration(carry, iter_key):
        (mean, std), kept, kept_ok, best_seq, best_ret, nonfinite = carry
        k_noise, k_eval = jax.random.split(iter_key)
        drawn = colored_normal(k_noise, (samples,) + seq_shape, noise_beta, axis=1,
                               kind=noise)
        parts = [jnp.clip(mean + std * drawn, low, high), kept]
        if last:
            parts.append(jnp.clip(mean, low, high)[None])
        candidates = jnp.concatenate(parts)
        returns, bad = evaluate(candidates, k_eval)
        # Placeholder elites (before any call has run) rank below every score, the worst
        # score of a non-finite return included.
        ok = jnp.concatenate([jnp.ones(samples, bool), jnp.full(num_kept, kept_ok),
                              jnp.ones(int(last), bool)])
        ranked = jnp.where(ok, returns, -jnp.inf)
        elite_ret, elite_idx = jax.lax.top_k(ranked, num_elites)
        elites = candidates[elite_idx]
        new_mean = alpha * mean + (1 - alpha) * elites.mean(0)
        new_std = alpha * std + (1 - alpha) * elites.std(0)
        best_seq, best_ret = keep_best(best_seq, best_ret, candidates, ranked)
        carry = ((new_mean, new_std), elites[:num_kept], jnp.ones((), bool),
                 best_seq, best_ret, nonfinite + bad)
        return carry, elite_ret.mean()

    return iteration
