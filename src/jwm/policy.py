"""Policies: what every agent acts and evaluates with (`jwm.agents.run_episode`).

A `Policy` is two pure functions over a per-episode carry, so stateless actors, MPC
planners (whose carry is the warm-start plan) and recurrent actors (whose carry is a
filtered latent) run in the same `lax.scan`:

    carry = policy.init(params, key)                          # at the episode's start
    action, carry, info = policy.act(params, carry, obs, key)  # each step
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax

__all__ = ["Policy", "stateless_policy", "planner_policy"]


@dataclasses.dataclass(frozen=True)
class Policy:
    """An actor as pure functions.

    Attributes:
      init: ``init(params, key) -> carry`` at the start of an episode.
      act: ``act(params, carry, obs, key) -> (action, carry, info)``; ``obs`` is the
        observation ``[*obs_shape]`` (the env state when ``observes_state``); ``info``
        any pytree (a planner's `PlanInfo`: its ``predicted_return`` and
        ``num_nonfinite`` are recorded by `run_episode`).
      observes_state: act on the env's state instead of its observation (a policy that
        plans with the simulator itself).
    """

    init: Callable[[Any, jax.Array], Any]
    act: Callable[[Any, Any, Any, jax.Array], tuple[Any, Any, Any]]
    observes_state: bool = False


def stateless_policy(act: Callable[[Any, Any, jax.Array], Any]) -> Policy:
    """A `Policy` from ``act(params, obs, key) -> action`` (no carry, no info)."""
    return Policy(init=lambda params, key: (),
                  act=lambda params, carry, obs, key: (act(params, obs, key), (), ()))


def planner_policy(model, planner) -> Policy:
    """Receding-horizon control: encode the observation with ``model``, plan with
    ``planner``, act with the plan's first action; the carry is the planner's
    warm-start state and the params are the model's."""

    def act(params, plan_state, obs, key):
        latent = model.encode(params, obs)
        return planner.plan(plan_state, params, latent, key)

    return Policy(init=lambda params, key: planner.init(key), act=act,
                  observes_state=bool(getattr(model, "observes_state", False)))
