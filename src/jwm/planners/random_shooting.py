"""Random shooting: sample sequences uniformly, act on the best."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jwm.checks import check_int
from jwm.planners.base import PlanInfo, Planner, make_planner, space_kind
from jwm.planners.objective import make_evaluator

__all__ = ["random_shooting"]


def random_shooting(model, action_space, *, horizon: int, population: int,
                    discount: float = 1.0, value_fn=None, particles: int = 1) -> Planner:
    """Builds a random-shooting planner for Box (uniform in bounds) or Discrete actions.

    ``plan_state`` is ``()``: nothing is carried between calls.

    Returns:
      `Planner` whose ``plan`` returns ``(action, (), PlanInfo)``; ``info.plan`` is the
      best sampled sequence ``[H, *action_shape]``.
    """
    name = "random_shooting"
    space_kind(action_space, name)
    horizon = check_int(name, "horizon", horizon)
    population = check_int(name, "population", population)
    evaluate = make_evaluator(name, model, discount=discount, value_fn=value_fn,
                              particles=particles)

    def init(key):
        del key
        return ()

    def plan(plan_state, params, latent, key):
        k_sample, k_eval = jax.random.split(key)
        actions = action_space.sample(k_sample, (population, horizon))
        returns, nonfinite = evaluate(params, latent, actions, k_eval)
        best = jnp.argmax(returns)
        info = PlanInfo(plan=actions[best], predicted_return=returns[best],
                        best_return=returns[best], iteration_returns=returns[best][None],
                        num_nonfinite=nonfinite)
        return actions[best][0], plan_state, info

    return make_planner(name, init, plan)
