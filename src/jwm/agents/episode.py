"""The one episode loop: `run_episode` runs a `Policy` for a fixed number of steps as
one `lax.scan`; `evaluate` runs several episodes in parallel. Every agent collects and
evaluates with them, and `jwm.agents.mpc_episode` is `run_episode` of a planner."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from jwm.keys import as_typed_key
from jwm.policy import Policy
from jwm.records import record_repr

__all__ = ["Episode", "run_episode", "evaluate"]


class Episode(NamedTuple):
    """A trajectory of ``T`` steps (``T = num_steps``).

    Attributes:
      observations: ``[T, *obs_shape]``, the observation each action was chosen from.
      next_observations: ``[T, *obs_shape]``, the observation the action led to (frozen
        at the last one once the episode is over).
      actions: ``[T, *action_shape]``.
      rewards: ``[T]``, 0 once the episode is over.
      dones: ``[T]`` bool, the episode is over after this step (terminated or truncated).
      active: ``[T]`` bool, the step happened inside the episode (before it ended).
      predicted_returns: ``[T]``, the policy's predicted return at each step (NaN
        if its info has no ``predicted_return``, e.g. not a planner).
      num_nonfinite: ``[T]`` int32, non-finite candidate returns a planner discarded
        (0 if the info has no ``num_nonfinite``).
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

    # Dtypes and shapes, not the numbers: a few vmapped seeds hold tens of KB of them.
    __repr__ = record_repr


def run_episode(env, policy: Policy, params, key, *, num_steps: int | None = None,
                progress: Callable[[Any], None] | None = None) -> Episode:
    """One episode of ``policy`` in ``env`` as one `lax.scan` of ``num_steps`` steps.

    After the episode ends the env state is frozen and rewards count 0, so a
    fixed-length scan serves any episode length; vmap over keys for parallel episodes.

    Args:
      env: an `Env`.
      policy: a `Policy`.
      params: ``policy``'s parameters.
      key: PRNG key, typed or legacy; vmap over keys for parallel episodes.
      num_steps: scan length; ``env.max_episode_steps`` when None.
      progress: optional host callback ``progress(step_index)`` after every step.

    Returns:
      an `Episode`.
    """
    if num_steps is None:
        num_steps = env.max_episode_steps
    if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps <= 0:
        raise ValueError(
            f"run_episode: num_steps must be a positive int (or the env must set "
            f"max_episode_steps), got {num_steps!r}")
    key = as_typed_key(key, where="run_episode")
    k_reset, k_init, k_steps = jax.random.split(key, 3)
    env_state, obs = env.reset(k_reset)
    carry = policy.init(params, k_init)

    def body(loop, xs):
        env_state, obs, carry, done = loop
        t, step_key = xs
        k_act, k_env = jax.random.split(step_key)
        seen = env_state if policy.observes_state else obs
        action, carry, info = policy.act(params, carry, seen, k_act)
        next_state, next_obs, reward, step_done = env.step(k_env, env_state, action)
        active = ~done
        keep = lambda new, old: jnp.where(active, new, old)
        env_state = jax.tree.map(keep, next_state, env_state)
        next_obs = keep(next_obs, obs)
        reward = jnp.where(active, reward, 0.0)
        done = done | step_done
        if progress is not None:
            jax.debug.callback(progress, t)
        # Records are open: a user's policy may report neither field.
        predicted = getattr(info, "predicted_return", jnp.full((), jnp.nan, jnp.float32))
        nonfinite = getattr(info, "num_nonfinite", jnp.zeros((), jnp.int32))
        out = (obs, next_obs, action, reward, done, active, predicted, nonfinite)
        return (env_state, next_obs, carry, done), out

    loop0 = (env_state, obs, carry, jnp.zeros((), bool))
    xs = (jnp.arange(num_steps), jax.random.split(k_steps, num_steps))
    _, (observations, next_observations, actions, rewards, dones, active, predicted,
        nonfinite) = jax.lax.scan(body, loop0, xs)
    return Episode(observations=observations, next_observations=next_observations,
                   actions=actions, rewards=rewards, dones=dones,
                   active=active, predicted_returns=predicted, num_nonfinite=nonfinite,
                   total_return=rewards.sum(), length=active.sum().astype(jnp.int32))


def evaluate(env, policy: Policy, params, key, *, episodes: int,
             num_steps: int | None = None) -> jax.Array:
    """Undiscounted returns ``[episodes]`` of ``policy`` over fresh episodes, run in
    parallel (vmapped)."""
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"evaluate: episodes must be an int >= 1, got {episodes!r}")
    key = as_typed_key(key, where="evaluate")
    one = lambda k: run_episode(env, policy, params, k, num_steps=num_steps).total_return
    return jax.vmap(one)(jax.random.split(key, episodes))
