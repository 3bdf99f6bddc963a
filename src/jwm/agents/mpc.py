"""Receding-horizon control: one whole episode of plan-act as one `lax.scan`."""

from __future__ import annotations

from typing import Any, Callable

from jwm.agents.episode import Episode, run_episode
from jwm.keys import as_typed_key
from jwm.policy import planner_policy

__all__ = ["Episode", "mpc_episode"]


def mpc_episode(env, model, planner, params, key, *, num_steps: int | None = None,
                progress: Callable[[Any], None] | None = None) -> Episode:
    """Runs one episode of model predictive control: `run_episode` of
    `planner_policy(model, planner)`.

    Each step encodes the current observation (or env state, for a model with
    ``observes_state``), plans, applies the first action to the real environment and
    carries the planner's warm-start state. After the episode ends the env state is
    frozen and rewards count 0, so a fixed-length scan serves any episode length.

    Args:
      env: an `Env`.
      model: a `WorldModel` the planner was built on.
      planner: a `Planner`.
      params: the model's parameters.
      key: PRNG key, typed or legacy (``jax.random.PRNGKey``); vmap over keys for
        seeds.
      num_steps: scan length; ``env.max_episode_steps`` when None.
      progress: optional host callback ``progress(step_index)``, called once per
        step (also once per step under vmap); for progress bars.

    Returns:
      an `Episode`.
    """
    key = as_typed_key(key, where="mpc_episode")
    return run_episode(env, planner_policy(model, planner), params, key, num_steps=num_steps,
                       progress=progress)
