"""CEM whose elites are refined by a few gradient steps before each refit (CEM-GD)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jwm.checks import check_choice, check_int, check_real
from jwm.noise import NOISE_KINDS
from jwm.planners.base import (PlanInfo, Planner, box_geometry, chosen_plan, elite_count,
                               keep_best, make_planner, shift_plan)
from jwm.planners.cem import CEMState, _box_ops
from jwm.planners.gradient import differentiable_box, make_ascent
from jwm.planners.objective import make_evaluator

__all__ = ["cem_gd"]


def cem_gd(model, action_space, *, horizon: int, population: int, iterations: int = 5,
           elite_frac: float = 0.1, num_elites: int | None = None, alpha: float = 0.0,
           init_std: float | None = None, min_std: float = 0.0, refine_steps: int = 3,
           refine_lr: float = 0.05, return_mode: str = "mean", warm_start: bool = True,
           discount: float = 1.0, value_fn=None, particles: int = 1,
           noise: str = "hash") -> Planner:
    """Builds a CEM planner whose elites climb their gradient before each refit (Box only).

    Each iteration samples ``population`` sequences (clipped Gaussians, as `cem`),
    scores them, takes the ``num_elites`` best, gives each ``refine_steps`` Adam steps
    on its return through ``model.step`` (`make_ascent`: projected onto the bounds, a
    fresh Adam state per iteration), and refits the distribution to the refined
    elites: ``new = alpha * old + (1 - alpha) * statistic``. An elite only changes if
    a step improved it, so refining never makes the elite set worse. Sampling finds
    the basin, the gradient the bottom of it.

    Model calls per iteration: ``population + num_elites * (refine_steps + 1)``
    sequences of ``H`` steps, ``refine_steps`` of the latter with a backward pass.

    Args:
      model: a `WorldModel` differentiable in the action (checked at trace time: a
        TypeError names the model otherwise).
      action_space: a `Box` with finite bounds (Discrete: TypeError).
      horizon, population, elite_frac, iterations, num_elites, alpha, init_std, min_std, return_mode, warm_start, noise: as in `cem` (clip sampling).
      refine_steps: >= 1, Adam steps per elite per iteration.
      refine_lr: > 0, their step size in half-ranges of the box (may be traced).
      discount, value_fn, particles: the objective, see `population_returns`.

    Returns:
      `Planner` whose ``plan`` returns ``(action [*action_shape], CEMState, PlanInfo)``;
      ``PlanInfo.iteration_returns`` is the refined elites' mean return per iteration.
    """
    name = "cem_gd"
    to_actions, to_unit = differentiable_box(name, action_space)
    horizon = check_int(name, "horizon", horizon)
    population = check_int(name, "population", population)
    iterations = check_int(name, "iterations", iterations)
    refine_steps = check_int(name, "refine_steps", refine_steps)
    refine_lr = check_real(name, "refine_lr", refine_lr, low=0.0, low_open=True)
    elite_frac, num_elites = elite_count(name, population, elite_frac, num_elites)
    alpha = check_real(name, "alpha", alpha, low=0.0, high=1.0, high_open=True)
    min_std = check_real(name, "min_std", min_std, low=0.0)
    return_mode = check_choice(name, "return_mode", return_mode, ("mean", "best"))
    noise = check_choice(name, "noise", noise, NOISE_KINDS)
    evaluate = make_evaluator(name, model, discount=discount, value_fn=value_fn,
                              particles=particles)
    ascend = make_ascent(name, model, evaluate, to_actions, refine_steps, refine_lr)
    low, high, centre, std0 = box_geometry(name, action_space, "init_std", init_std)
    seq_shape = (horizon,) + tuple(action_space.shape)
    std0 = jnp.broadcast_to(jnp.maximum(std0, min_std), seq_shape)
    sample, refit, to_sequence = _box_ops(low, high, population, "clip", min_std, noise)

    def init(key):
        del key
        return CEMState(mean=jnp.broadcast_to(centre, seq_shape))

    def plan(plan_state, params, latent, key):
        def iteration(carry, iter_key):
            dist, best_seq, best_ret, nonfinite = carry
            k_sample, k_eval, k_refine = jax.random.split(iter_key, 3)
            actions = sample(k_sample, dist)
            returns, bad = evaluate(params, latent, actions, k_eval)
            _, elite_idx = jax.lax.top_k(returns, num_elites)
            refined = ascend(params, latent, to_unit(actions[elite_idx]), k_refine)
            elites = to_actions(refined.best_u)
            best_seq, best_ret = keep_best(best_seq, best_ret, actions, returns)
            best_seq, best_ret = keep_best(best_seq, best_ret, elites, refined.best_return)
            carry = (refit(dist, elites, alpha), best_seq, best_ret,
                     nonfinite + bad + refined.num_nonfinite)
            return carry, refined.best_return.mean()

        k_iters, k_final = jax.random.split(key)
        carry0 = ((plan_state.mean, std0), to_sequence(plan_state.mean),
                  jnp.array(-jnp.inf, jnp.float32), jnp.zeros((), jnp.int32))
        ((mean, _), best_seq, best_ret, nonfinite), iter_returns = jax.lax.scan(
            iteration, carry0, jax.random.split(k_iters, iterations))
        chosen, chosen_ret, nonfinite = chosen_plan(return_mode, best_seq, best_ret,
                                                    to_sequence(mean), evaluate, params,
                                                    latent, k_final, nonfinite)
        next_mean = shift_plan(mean, centre) if warm_start else init(None).mean
        info = PlanInfo(plan=chosen, predicted_return=chosen_ret, best_return=best_ret,
                        iteration_returns=iter_returns, num_nonfinite=nonfinite)
        return chosen[0], CEMState(mean=next_mean), info

    return make_planner(name, init, plan)
