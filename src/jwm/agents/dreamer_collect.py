"""Dreamer's collector: ``num_envs`` environments stepped in parallel (vmapped) by the
learner's actor on the RSSM's filtered latent, their rows added to a flashbax
trajectory buffer; and the evaluation policy, which acts the same way in one env.

Rows are stored as DreamerV3 stores them: row ``t`` is an observation with the action
and reward that led to it, and flags ``is_first``/``is_terminal``/``is_last``. An
episode's end takes one extra loop step that resets the env and stores the first
observation of the next episode; like every loop step it counts as an env step (it
takes a replay row), so a phase is always ``num_envs * chunk`` env steps.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import flashbax
import jax
import jax.numpy as jnp

from jwm.agents.contract import AgentState
from jwm.policy import Policy

__all__ = ["Collector", "DreamerRow", "collector", "filtering_policy", "replay"]


class DreamerRow(NamedTuple):
    """One loop step of one env, in DreamerV3's layout.

    Attributes:
      obs: ``[*obs_shape]`` an observation.
      prev_action: ``[*action_shape]`` the action that led to it (int32 for Discrete,
        float32 for a Box; zeros at an episode's first row).
      reward: float32, the reward of that action (0 at a first row).
      is_first: bool, the first row of an episode (the env was just reset).
      is_terminal: bool, the episode terminated at ``obs`` (not truncated).
      is_last: bool, the episode ended at ``obs``, terminated or truncated; the next
        loop step resets.
    """

    obs: jax.Array
    prev_action: jax.Array
    reward: jax.Array
    is_first: jax.Array
    is_terminal: jax.Array
    is_last: jax.Array


class Collector(NamedTuple):
    """Pure functions of Dreamer's collection.

    Attributes:
      init: ``init(model_params, reset_key, filter_key) -> (carry, buffer_state)``:
        ``num_envs`` fresh episodes, their first observations filtered into latents
        (the carry: env states, current rows, latents, episode returns
        ``[num_envs]``), and an empty buffer for rows like theirs.
      fill: ``fill(state, key, random) -> (state, finished [num_envs, chunk])``:
        ``chunk`` loop steps in each env, acting with the actor of ``state.learner``
        (uniformly random actions when ``random``, a Python bool); the rows go into
        ``state.buffer`` and the ``num_envs * chunk`` loop steps, resets included,
        into ``state.env_steps``. ``finished``:
        the return of each episode that ended at a loop step, NaN elsewhere.
    """

    init: Callable
    fill: Callable


def replay(name: str, *, num_envs: int, batch_size: int, seq_len: int, capacity: int):
    """The flashbax trajectory buffer: a row of each of the ``num_envs`` envs added per
    loop step, ``capacity`` rows in all (rounded up to a whole number per env),
    ``batch_size`` sequences of ``seq_len`` consecutive rows sampled uniformly.

    Raises:
      ValueError: ``capacity`` holds fewer than ``seq_len`` rows per env.
    """
    rows_per_env = -(-capacity // num_envs)
    if rows_per_env < seq_len:
        raise ValueError(f"{name}: capacity ({capacity}) must hold seq_len ({seq_len}) rows "
                         f"per env")
    return flashbax.make_trajectory_buffer(
        add_batch_size=num_envs, sample_batch_size=batch_size, sample_sequence_length=seq_len,
        period=1, min_length_time_axis=seq_len, max_length_time_axis=rows_per_env)


def _action_kind(env):
    """``(dtype, shape)`` of ``env``'s actions as rows store them."""
    discrete = hasattr(env.action_space, "n")
    return (jnp.int32 if discrete else jnp.float32), tuple(env.action_space.shape)


def collector(env, model, behavior, buffer, *, num_envs: int, chunk: int) -> Collector:
    """The `Collector` of ``behavior`` (a `jwm.imagination.Learner` whose ``inputs``
    read ``model``'s latents) acting in ``env`` through ``model`` (an `RSSMModel`),
    ``chunk`` loop steps per env per ``fill``, into ``buffer`` (`replay`)."""
    action_dtype, action_shape = _action_kind(env)

    def first_row(obs):
        return DreamerRow(obs=obs, prev_action=jnp.zeros(action_shape, action_dtype),
                          reward=jnp.zeros((), jnp.float32), is_first=jnp.ones((), bool),
                          is_terminal=jnp.zeros((), bool), is_last=jnp.zeros((), bool))

    def observe_first(model_params, obs, key):
        zero = jnp.zeros(action_shape, action_dtype)
        return model.observe(model_params, model.initial(), zero, obs, key)

    def loop_step(carry, key, model_params, actor_params, random):
        """One loop step of one env: store the current row, then act or reset."""
        env_state, row, latent, ep_return = carry
        k_act, k_env, k_reset, k_obs = jax.random.split(key, 4)
        if random:
            action = env.action_space.sample(k_act)
        else:
            action = behavior.act(actor_params, behavior.inputs(latent), k_act)
        t = env.transition(k_env, env_state, action)
        stepped = DreamerRow(obs=t.obs, prev_action=action.astype(action_dtype),
                             reward=t.reward, is_first=jnp.zeros((), bool),
                             is_terminal=t.terminated & ~t.truncated, is_last=t.done)
        reset_state, reset_obs = env.reset(k_reset)
        restart = row.is_last
        pick = lambda a, b: jax.tree.map(lambda x, y: jnp.where(restart, x, y), a, b)
        new_env_state = pick(reset_state, t.state)
        new_row = pick(first_row(reset_obs), stepped)
        # One filtering step serves both branches: a restart filters the reset
        # observation from the initial state with a zero action (as `observe_first`).
        new_latent = model.observe(model_params, pick(model.initial(), latent),
                                   new_row.prev_action, new_row.obs, k_obs)
        ep_return = jnp.where(restart, 0.0, ep_return + t.reward)
        finished = jnp.where(new_row.is_last, ep_return, jnp.nan)
        return (new_env_state, new_row, new_latent, ep_return), (row, finished)

    def collect(env_carry, key, model_params, actor_params, random):
        """``chunk`` loop steps in each of the ``num_envs`` envs."""
        def per_env(carry, keys):
            return jax.lax.scan(
                lambda c, k: loop_step(c, k, model_params, actor_params, random),
                carry, keys)

        keys = jax.random.split(key, (num_envs, chunk))
        env_carry, (rows, finished) = jax.vmap(per_env)(env_carry, keys)
        return env_carry, rows, finished

    def init(model_params, reset_key, filter_key):
        env_states, obs = jax.vmap(env.reset)(jax.random.split(reset_key, num_envs))
        latents = jax.vmap(lambda o, k: observe_first(model_params, o, k))(
            obs, jax.random.split(filter_key, num_envs))
        rows = jax.vmap(first_row)(obs)
        carry = (env_states, rows, latents, jnp.zeros((num_envs,), jnp.float32))
        return carry, buffer.init(jax.tree.map(lambda x: x[0], rows))

    def fill(state: AgentState, key, random: bool):
        env_carry, rows, finished = collect(state.env, key, state.model_params,
                                            state.learner.actor, random)
        # Every loop step counts, a reset included: it takes a step and a replay row.
        state = state._replace(env=env_carry, buffer=buffer.add(state.buffer, rows),
                               env_steps=state.env_steps + num_envs * chunk)
        return state, finished

    return Collector(init=init, fill=fill)


def filtering_policy(env, model, behavior) -> Policy:
    """Dreamer's evaluation `Policy` in ``env``: filter each observation with
    ``model`` (from its initial latent and a zero action, as training rows start an
    episode), act with ``behavior``'s mode. Params: ``(model_params, actor_params)``;
    carry: the latent and the last action."""
    action_dtype, action_shape = _action_kind(env)

    def init(params, key):
        return model.initial(), jnp.zeros(action_shape, action_dtype)

    def act(params, carry, obs, key):
        model_params, actor_params = params
        latent, prev_action = carry
        k_obs, k_act = jax.random.split(key)
        latent = model.observe(model_params, latent, prev_action, obs, k_obs)
        action = behavior.act(actor_params, behavior.inputs(latent), k_act, deterministic=True)
        return action, (latent, action.astype(action_dtype)), ()

    return Policy(init=init, act=act)
