"""Self-play with a tree search: ``num_envs`` environments stepped in parallel, each
action chosen by searching the model from the current observation, each step stored
as a row with its search policy and root value (the training targets of MuZero and
AlphaZero).

Environments reset as soon as an episode ends, so every loop step is one env step;
the row after an episode's last row is the first row of the next one, and the
``terminated``/``truncated`` flags tell where episodes end.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["SearchRow", "SelfPlay", "self_play", "sample_with_temperature"]


class SearchRow(NamedTuple):
    """One self-play step of one env.

    Attributes:
      obs: ``[*obs_shape]`` the observation the search started from (the search itself
        starts from the env state when the model observes states, as the true rules do).
      action: int32, the action taken.
      reward: float32, its reward.
      terminated, truncated: bool, the episode ended right after this step.
      search_policy: ``[A]`` the search's policy target (visit frequencies, or Gumbel
        MuZero's ``softmax(logits + completed Q)``).
      root_value: float32, the search's value of ``obs``.
    """

    obs: Any
    action: jax.Array
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    search_policy: jax.Array
    root_value: jax.Array


class SelfPlay(NamedTuple):
    """Pure functions of one self-play loop.

    Attributes:
      init: ``init(key) -> carry`` of ``num_envs`` fresh episodes.
      collect: ``collect(carry, params, key, temperature) -> (carry, rows, finished,
        num_nonfinite)``: ``steps`` loop steps in each env; ``rows`` a `SearchRow`
        ``[num_envs, steps]``, ``finished`` ``[num_envs, steps]`` the returns of the
        episodes that ended at each step (NaN elsewhere), ``num_nonfinite`` the
        searches' non-finite model outputs, summed.
    """

    init: Callable
    collect: Callable


def sample_with_temperature(weights, temperature, key):
    """An action drawn from ``weights ** (1 / temperature)`` over the actions with
    weight > 0; the most weighted one (ties at random) when ``temperature`` is 0.
    ``temperature`` may be traced."""
    logits = jnp.log(jnp.maximum(weights, 1e-30))
    logits = jnp.where(weights > 0, logits - logits.max(), -jnp.inf)
    cold = jnp.where(logits == 0.0, 0.0, -jnp.inf)
    warm = logits / jnp.maximum(temperature, 1e-6)
    chosen = jnp.where(temperature > 0, warm, cold)
    # Every weight 0 (no valid action): uniform, so the draw stays an action index.
    chosen = jnp.where(jnp.isneginf(chosen).all(), 0.0, chosen)
    return jax.random.categorical(key, chosen).astype(jnp.int32)


def self_play(env, model, planner, *, num_envs: int, steps: int, sample_action: bool,
              random_opening: int = 0) -> SelfPlay:
    """The `SelfPlay` of ``planner`` (an `mcts` over ``model``) in ``env``.

    ``sample_action``: draw the action from the search policy at ``collect``'s
    temperature (PUCT), instead of taking the planner's own action (Gumbel MuZero's
    Gumbel-argmax, already a sample).

    ``random_opening``: the first plies of every episode are uniformly random legal
    moves (the search still runs and its policy is stored as the target), so that
    self-play meets openings the network would never choose, as a reference opponent
    may. The rows before the last random ply carry the outcome of random moves.
    """
    observes_state = bool(getattr(model, "observes_state", False))
    invalid = getattr(model, "invalid_actions", None)
    num_actions = int(env.action_space.n)

    def reset(key):
        state, obs = env.reset(key)
        return state, obs, jnp.zeros((), jnp.float32), jnp.zeros((), jnp.int32)

    def init(key):
        return jax.vmap(reset)(jax.random.split(key, num_envs))

    def one_step(carry, key, params, temperature):
        env_state, obs, episode_return, ply = carry
        k_plan, k_act, k_env, k_reset = jax.random.split(key, 4)
        seen = env_state if observes_state else obs
        latent = model.encode(params, seen)
        action, _, info = planner.plan((), params, latent, k_plan)
        if sample_action:
            action = sample_with_temperature(info.action_weights, temperature, k_act)
        if random_opening:
            legal = (jnp.ones((num_actions,), bool) if invalid is None
                     else ~invalid(params, latent))
            uniform = jax.random.categorical(k_act, jnp.where(legal, 0.0, -jnp.inf))
            action = jnp.where(ply < random_opening, uniform.astype(action.dtype), action)
        t = env.transition(k_env, env_state, action)
        row = SearchRow(obs=obs, action=action.astype(jnp.int32), reward=t.reward,
                        terminated=t.terminated, truncated=t.truncated,
                        search_policy=info.action_weights, root_value=info.root_value)
        episode_return = episode_return + t.reward
        finished = jnp.where(t.done, episode_return, jnp.nan)
        fresh = reset(k_reset)
        carry = jax.tree.map(lambda a, b: jnp.where(t.done, a, b), fresh,
                             (t.state, t.obs, episode_return, ply + 1))
        return carry, (row, finished, info.num_nonfinite)

    def collect(carry, params, key, temperature):
        def per_env(env_carry, keys):
            return jax.lax.scan(lambda c, k: one_step(c, k, params, temperature),
                                env_carry, keys)

        keys = jax.random.split(key, (num_envs, steps))
        carry, (rows, finished, nonfinite) = jax.vmap(per_env)(carry, keys)
        return carry, rows, finished, nonfinite.sum()

    return SelfPlay(init=init, collect=collect)
