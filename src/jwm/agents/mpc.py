"""Receding-horizon control: one whole episode of plan-act as one `lax.scan`."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["Episode", "mpc_episode"]


class Episode(NamedTuple):
    """A trajectory of ``T`` steps (``T = num_steps``).

    Attributes:
      observations: ``[T, *obs_shape]``, the observation each action was planned from.
      next_observations: ``[T, *obs_shape]``, the observation the action led to (frozen
        at the last one once the episode is over).
      actions: ``[T, *action_shape]``.
      rewards: ``[T]``, 0 once the episode is over.
      dones: ``[T]`` bool, the episode is over after this step (terminated or truncated).
      active: ``[T]`` bool, the step happened inside the episode (before it ended).
      predicted_returns: ``[T]``, the planner's predicted return at each step (NaN if
        its info has no ``predicted_return``).
      num_nonfinite: ``[T]`` int32, non-finite candidate returns the planner discarded
        (0 if its info has no ``num_nonfinite``).
      total_return: scalar, the undiscounted episode return.
      length: int32, the number of steps inside the episode.
    """

    observations: jax.Array
    next_observations: jax.Array
    actions: jax.Array
    rewards: jax.Array
    dones: jax.Array
    active: jax.Array
    predicted_returns: jax.Array
    num_nonfinite: jax.Array
    total_return: jax.Array
    length: jax.Array


def mpc_episode(env, model, planner, params, key, *, num_steps: int | None = None,
                progress: Callable[[Any], None] | None = None) -> Episode:
    """Runs one episode of model predictive control.

    Each step encodes the current observation (or env state, for a model with
    ``observes_state``), plans, applies the first action to the real environment and
    carries the planner's warm-start state. After the episode ends the env state is
    frozen and rewards count 0, so a fixed-length scan serves any episode length.

    Args:
      env: an `Env`.
      model: a `WorldModel` the planner was built on.
      planner: a `Planner`.
      params: the model's parameters.
      key: PRNG key; vmap over keys for seeds.
      num_steps: scan length; ``env.max_episode_steps`` when None.
      progress: optional host callback ``progress(step_index)``, called once per
        step (also once per step under vmap); for progress bars.

    Returns:
      an `Episode`.
    """
    if num_steps is None:
        num_steps = env.max_episode_steps
    if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps <= 0:
        raise ValueError(
            f"mpc_episode: num_steps must be a positive int (or the env must set "
            f"max_episode_steps), got {num_steps!r}")
    observes_state = getattr(model, "observes_state", False)
    k_reset, k_plan_init, k_steps = jax.random.split(key, 3)
    env_state, obs = env.reset(k_reset)
    plan_state = planner.init(k_plan_init)

    def body(carry, xs):
        env_state, obs, plan_state, done = carry
        t, step_key = xs
        k_plan, k_env = jax.random.split(step_key)
        latent = model.encode(params, env_state if observes_state else obs)
        action, plan_state, info = planner.plan(plan_state, params, latent, k_plan)
        next_state, next_obs, reward, step_done = env.step(k_env, env_state, action)
        active = ~done
        keep = lambda new, old: jnp.where(active, new, old)
        env_state = jax.tree.map(keep, next_state, env_state)
        next_obs = keep(next_obs, obs)
        reward = jnp.where(active, reward, 0.0)
        done = done | step_done
        if progress is not None:
            jax.debug.callback(progress, t)
        # Records are open: a user's planner may report neither field.
        predicted = getattr(info, "predicted_return", jnp.full((), jnp.nan, jnp.float32))
        nonfinite = getattr(info, "num_nonfinite", jnp.zeros((), jnp.int32))
        out = (obs, next_obs, action, reward, done, active, predicted, nonfinite)
        return (env_state, next_obs, plan_state, done), out

    carry0 = (env_state, obs, plan_state, jnp.zeros((), bool))
    xs = (jnp.arange(num_steps), jax.random.split(k_steps, num_steps))
    _, (observations, next_observations, actions, rewards, dones, active, predicted,
        nonfinite) = jax.lax.scan(body, carry0, xs)
    return Episode(observations=observations, next_observations=next_observations,
                   actions=actions, rewards=rewards, dones=dones,
                   active=active, predicted_returns=predicted, num_nonfinite=nonfinite,
                   total_return=rewards.sum(), length=active.sum().astype(jnp.int32))
