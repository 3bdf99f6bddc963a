"""Dreamer (Hafner et al., 2020; 2023): learn a world model from replayed sequences and
an actor-critic inside it, act with the actor.

An `Agent`: ``init`` builds the parameters and fills the buffer with ``prefill``
random steps; each iteration (``step``) takes ``eval_every`` env steps and ends with an
evaluation of the actor on fresh episodes. ``num_envs`` environments step in parallel
(vmapped); every ``train_every`` env steps the new rows go into a flashbax trajectory
buffer and ``train_steps`` updates follow, each one world-model step on a
``[batch_size, seq_len]`` batch and one actor-critic step imagined from every
posterior state of that batch.

Rows are stored as DreamerV3 stores them: row ``t`` is an observation with the action
and reward that led to it, and flags ``is_first``/``is_terminal``/``is_last``. An
episode's end takes one extra loop step that resets the env and stores the first
observation of the next episode; it is not counted as an env step.
"""

from __future__ import annotations

from typing import NamedTuple

import flashbax
import jax
import jax.numpy as jnp
import optax

from jwm.agents.checks import check_schedule, part_config
from jwm.agents.contract import Agent, AgentState
from jwm.agents.episode import evaluate
from jwm.checks import check_positive_int, check_real
from jwm.keys import as_typed_key
from jwm.models.rssm_train import Sequences, WorldModelMetrics, world_model_loss
from jwm.policy import Policy
from jwm.records import record_repr

__all__ = ["DreamerMetrics", "dreamer"]


class _Row(NamedTuple):
    obs: jax.Array
    prev_action: jax.Array
    reward: jax.Array
    is_first: jax.Array
    is_terminal: jax.Array
    is_last: jax.Array


class DreamerMetrics(NamedTuple):
    """What one Dreamer iteration (``eval_every`` env steps) measured.

    Attributes:
      env_steps: int32 env steps taken (summed over the parallel envs) before the
        evaluation.
      eval_return: mean undiscounted return of ``eval_episodes`` episodes of the
        deterministic actor (mode of its distribution).
      train_return: mean return of the training episodes that ended since the last
        point (NaN if none ended).
      model: `WorldModelMetrics` of the last update before the point.
      actor_loss, critic_loss, entropy, imagined_return: of that update.
    """

    env_steps: jax.Array
    eval_return: jax.Array
    train_return: jax.Array
    model: WorldModelMetrics
    actor_loss: jax.Array
    critic_loss: jax.Array
    entropy: jax.Array
    imagined_return: jax.Array

    __repr__ = record_repr


def dreamer(env, model, behavior, *, total_steps: int = 100_000, num_envs: int = 4,
            prefill: int = 1_000, train_every: int = 16, train_steps: int = 1,
            batch_size: int = 16, seq_len: int = 64, capacity: int | None = None,
            model_lr: float = 1e-4, model_grad_clip: float = 1000.0,
            eval_every: int = 4_000, eval_episodes: int = 8,
            eval_steps: int | None = None) -> Agent:
    """Builds the Dreamer `Agent`.

    Args:
      env: an `Env` (vector or image observations; Discrete or bounded Box actions).
      model: an `RSSMModel` for ``env``'s spaces (e.g. `jwm.models.rssm_model`).
      behavior: an `ActorCritic` over ``model.features`` (`jwm.imagination.actor_critic`).
      total_steps: env steps of a full run after the prefill, summed over the parallel
        envs; ``agent.iterations = total_steps // eval_every``.
      num_envs: environments stepped in parallel.
      prefill: env steps of uniformly random actions before training starts.
      train_every: env steps (summed over envs) between training phases; a multiple
        of ``num_envs``.
      train_steps: updates per training phase; the replay ratio is
        ``train_steps * batch_size * seq_len / train_every`` replayed steps per env step.
      batch_size, seq_len: shape of a replayed batch.
      capacity: rows the buffer keeps (default ``total_steps + prefill`` plus resets).
      model_lr, model_grad_clip: Adam learning rate and global-norm clip of the model.
      eval_every: env steps between evaluations; a multiple of ``train_every``.
      eval_episodes: episodes per evaluation, run in parallel.
      eval_steps: steps of an evaluation episode (default the env's time limit).

    Returns:
      an `Agent` (``name="dreamer"``) whose ``step`` returns `DreamerMetrics`; its
      policy filters observations with the model and acts with the actor's mode
      (params: ``(model_params, actor_params)``).
    """
    name = "dreamer"
    if tuple(env.observation_space.shape) != tuple(model.obs_shape):
        raise ValueError(f"{name}: the env's observations have shape "
                         f"{tuple(env.observation_space.shape)} but the model was built for "
                         f"{tuple(model.obs_shape)}")
    if tuple(env.action_space.shape) != tuple(model.action_shape):
        raise ValueError(f"{name}: the env's actions have shape {tuple(env.action_space.shape)} "
                         f"but the model was built for {tuple(model.action_shape)}")

    total_steps, num_envs, train_every, train_steps, batch_size, seq_len, eval_every, \
        eval_episodes = (check_positive_int(name, param, value) for param, value in (
            ("total_steps", total_steps), ("num_envs", num_envs), ("train_every", train_every),
            ("train_steps", train_steps), ("batch_size", batch_size), ("seq_len", seq_len),
            ("eval_every", eval_every), ("eval_episodes", eval_episodes)))
    prefill = check_positive_int(name, "prefill", prefill, 0)
    for param, value in (("model_lr", model_lr), ("model_grad_clip", model_grad_clip)):
        check_real(name, param, value, low=0.0, low_open=True)
    check_schedule(name, num_envs=num_envs, train_every=train_every, eval_every=eval_every,
                   total_steps=total_steps)
    if eval_steps is None:
        eval_steps = env.max_episode_steps
    if eval_steps is None or eval_steps < 1:
        raise ValueError(f"{name}: eval_steps is needed for an env without a time limit")
    discrete = hasattr(env.action_space, "n")
    action_dtype = jnp.int32 if discrete else jnp.float32
    action_shape = tuple(env.action_space.shape)
    prefill_chunks = -(-prefill // train_every) if prefill else 0
    chunk = train_every // num_envs                  # loop steps per env per phase
    phases = eval_every // train_every
    points = total_steps // eval_every
    if capacity is None:
        # Resets take rows too: allow one in eight rows for them (CartPole's shortest
        # episodes are about ten steps).
        capacity = (total_steps + prefill_chunks * train_every) * 9 // 8 + num_envs * seq_len
    rows_per_env = -(-capacity // num_envs)
    if rows_per_env < seq_len:
        raise ValueError(f"{name}: capacity ({capacity}) must hold seq_len ({seq_len}) rows "
                         f"per env")
    buffer = flashbax.make_trajectory_buffer(
        add_batch_size=num_envs, sample_batch_size=batch_size, sample_sequence_length=seq_len,
        period=1, min_length_time_axis=seq_len, max_length_time_axis=rows_per_env)
    model_tx = optax.chain(optax.clip_by_global_norm(model_grad_clip),
                           optax.adam(model_lr, eps=1e-8))

    def first_row(obs):
        return _Row(obs=obs, prev_action=jnp.zeros(action_shape, action_dtype),
                    reward=jnp.zeros((), jnp.float32), is_first=jnp.ones((), bool),
                    is_terminal=jnp.zeros((), bool), is_last=jnp.zeros((), bool))

    def observe_first(model_params, obs, key):
        zero = jnp.zeros(action_shape, action_dtype)
        return model.observe(model_params, model.initial(), zero, obs, key)

    def env_loop_step(carry, key, model_params, actor_params, random):
        """One loop step of one env: store the current row, then act or reset."""
        env_state, row, latent, ep_return = carry
        k_act, k_env, k_reset, k_obs = jax.random.split(key, 4)
        if random:
            action = env.action_space.sample(k_act)
        else:
            action = behavior.act(actor_params, model.features(latent), k_act)
        t = env.transition(k_env, env_state, action)
        stepped = _Row(obs=t.obs, prev_action=action.astype(action_dtype), reward=t.reward,
                       is_first=jnp.zeros((), bool),
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
        return (new_env_state, new_row, new_latent, ep_return), (row, ~restart, finished)

    def collect(env_carry, key, model_params, actor_params, random):
        """``chunk`` loop steps in each of the ``num_envs`` envs."""
        def per_env(carry, keys):
            return jax.lax.scan(
                lambda c, k: env_loop_step(c, k, model_params, actor_params, random),
                carry, keys)

        keys = jax.random.split(key, (num_envs, chunk))
        env_carry, (rows, stepped, finished) = jax.vmap(per_env)(env_carry, keys)
        return env_carry, rows, stepped.sum(), finished

    def train_step(state: AgentState, key):
        """One world-model update on a replayed batch, then one actor-critic update
        imagined from its posterior states."""
        model_params, model_opt, ac_state = state.model_params, state.model_opt, state.learner
        k_sample, k_model, k_ac = jax.random.split(key, 3)
        rows = buffer.sample(state.buffer, k_sample).experience
        batch = Sequences(obs=rows.obs, prev_action=rows.prev_action, reward=rows.reward,
                          is_first=rows.is_first, is_terminal=rows.is_terminal)
        grads, (wm_metrics, posts) = jax.grad(
            lambda p: world_model_loss(model, p, batch, k_model), has_aux=True)(model_params)
        updates, model_opt = model_tx.update(grads, model_opt, model_params)
        model_params = optax.apply_updates(model_params, updates)
        starts = jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:]), posts)
        weights = 1.0 - rows.is_terminal.reshape(-1).astype(jnp.float32)
        ac_state, ac_metrics = behavior.update(ac_state, model, model_params, starts, k_ac,
                                               start_weights=weights)
        state = state._replace(model_params=model_params, model_opt=model_opt,
                               learner=ac_state, updates=state.updates + 1)
        return state, (wm_metrics, ac_metrics)

    def policy_init(params, key):
        # Filtering the first observation from the initial state with a zero action
        # is how training rows start an episode too (`first_row`).
        return model.initial(), jnp.zeros(action_shape, action_dtype)

    def policy_act(params, carry, obs, key):
        model_params, actor_params = params
        latent, prev_action = carry
        k_obs, k_act = jax.random.split(key)
        latent = model.observe(model_params, latent, prev_action, obs, k_obs)
        action = behavior.act(actor_params, model.features(latent), k_act, deterministic=True)
        return action, (latent, action.astype(action_dtype)), ()

    policy = Policy(init=policy_init, act=policy_act)

    def collect_into_buffer(state: AgentState, key, random: bool):
        """``train_every`` env steps (``chunk`` per env), their rows into the buffer."""
        env_carry, rows, stepped, finished = collect(state.env, key, state.model_params,
                                                     state.learner.actor, random)
        state = state._replace(env=env_carry, buffer=buffer.add(state.buffer, rows),
                               env_steps=state.env_steps + stepped)
        return state, finished

    def phase(state: AgentState, key):
        k_collect, k_train = jax.random.split(key)
        state, finished = collect_into_buffer(state, k_collect, False)
        state, (wm_metrics, ac_metrics) = jax.lax.scan(
            train_step, state, jax.random.split(k_train, train_steps))
        last = jax.tree.map(lambda x: x[-1], (wm_metrics, ac_metrics))
        return state, (last, jnp.nansum(finished), jnp.sum(~jnp.isnan(finished)))

    def init(key) -> AgentState:
        key, k_model, k_ac, k_env, k_prefill, k_obs = jax.random.split(
            as_typed_key(key, where=f"{name}.init"), 6)
        model_params = model.init(k_model)
        env_states, obs = jax.vmap(env.reset)(jax.random.split(k_env, num_envs))
        latents = jax.vmap(lambda o, k: observe_first(model_params, o, k))(
            obs, jax.random.split(k_obs, num_envs))
        rows = jax.vmap(first_row)(obs)
        zero = jnp.zeros((), jnp.int32)
        state = AgentState(
            key=key, iteration=zero, env_steps=zero, updates=zero, model_params=model_params,
            model_opt=model_tx.init(model_params), learner=behavior.init(k_ac),
            buffer=buffer.init(jax.tree.map(lambda x: x[0], rows)),
            env=(env_states, rows, latents, jnp.zeros((num_envs,), jnp.float32)))
        # Prefill: random actions, collected in train_every chunks; the buffer must hold
        # seq_len rows per env before the first update samples from it.
        if prefill_chunks:
            state, _ = jax.lax.scan(lambda s, k: (collect_into_buffer(s, k, True)[0], None),
                                    state, jax.random.split(k_prefill, prefill_chunks))
        return state

    def step(state: AgentState):
        key, k_phases, k_eval = jax.random.split(state.key, 3)
        state, (last, f_sum, f_count) = jax.lax.scan(phase, state,
                                                     jax.random.split(k_phases, phases))
        eval_return = evaluate(env, policy, (state.model_params, state.learner.actor), k_eval,
                               episodes=eval_episodes, num_steps=eval_steps).mean()
        wm_metrics, ac_metrics = jax.tree.map(lambda x: x[-1], last)
        count = f_count.sum()
        metrics = DreamerMetrics(
            env_steps=state.env_steps, eval_return=eval_return,
            train_return=jnp.where(count > 0, f_sum.sum() / jnp.maximum(count, 1), jnp.nan),
            model=wm_metrics, actor_loss=ac_metrics.actor_loss,
            critic_loss=ac_metrics.critic_loss, entropy=ac_metrics.entropy,
            imagined_return=ac_metrics.imagined_return)
        return state._replace(key=key, iteration=state.iteration + 1), metrics

    config = dict(env=env.name, total_steps=total_steps, num_envs=num_envs, prefill=prefill,
                  train_every=train_every, train_steps=train_steps, batch_size=batch_size,
                  seq_len=seq_len, capacity=capacity, model_lr=model_lr,
                  model_grad_clip=model_grad_clip, eval_every=eval_every,
                  eval_episodes=eval_episodes, eval_steps=eval_steps,
                  replay_ratio=train_steps * batch_size * seq_len / train_every,
                  model=part_config(model), behavior=part_config(behavior))
    return Agent(name=name, init=init, step=step, iterations=points, policy=policy,
                 policy_params=lambda state: (state.model_params, state.learner.actor),
                 config=config)
