"""Dreamer (Hafner et al., 2020; 2023): learn a world model from replayed sequences and
an actor-critic inside it, act with the actor.

An `Agent`: ``init`` builds the parameters and fills the buffer with ``prefill``
random steps; each iteration (``step``) takes ``eval_every`` env steps and ends with an
evaluation of the actor on fresh episodes. ``num_envs`` environments step in parallel;
every ``train_every`` env steps the new rows go into a flashbax trajectory buffer and
``train_steps`` updates follow, each one world-model step on a ``[batch_size,
seq_len]`` batch and one learner step imagined from every posterior state of that
batch.

This module wires the parts into the `Agent` contract: the collector
(`jwm.agents.dreamer_collect`: acting in the envs, the rows' layout, the replay, the
evaluation policy) and the trainer (`jwm.agents.dreamer_train`: the update). The
learner is any `jwm.imagination.Learner` over the model's latents, called through
that one interface (`jwm.imagination.actor_critic` is Dreamer's).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jwm.agents.checks import check_schedule, part_config
from jwm.agents.contract import Agent, AgentState
from jwm.agents.dreamer_collect import collector, filtering_policy, replay
from jwm.agents.dreamer_train import trainer
from jwm.agents.episode import evaluate
from jwm.checks import check_positive_int, check_real
from jwm.keys import as_typed_key
from jwm.models.rssm_train import WorldModelMetrics
from jwm.records import record_repr

__all__ = ["DreamerMetrics", "dreamer"]


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
      behavior: a `jwm.imagination.Learner` whose ``inputs`` read the model's latents,
        e.g. `jwm.imagination.actor_critic` over ``model.features``.
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
    c = _settings(name, env, model, total_steps=total_steps, num_envs=num_envs,
                  prefill=prefill, train_every=train_every, train_steps=train_steps,
                  batch_size=batch_size, seq_len=seq_len, capacity=capacity,
                  model_lr=model_lr, model_grad_clip=model_grad_clip, eval_every=eval_every,
                  eval_episodes=eval_episodes, eval_steps=eval_steps)
    buffer = replay(name, num_envs=c.num_envs, batch_size=c.batch_size, seq_len=c.seq_len,
                    capacity=c.capacity)
    collect = collector(env, model, behavior, buffer, num_envs=c.num_envs, chunk=c.chunk)
    train = trainer(model, behavior, buffer, model_lr=model_lr,
                    model_grad_clip=model_grad_clip)
    policy = filtering_policy(env, model, behavior)

    def phase(state: AgentState, key):
        """``train_every`` env steps, then ``train_steps`` updates."""
        k_collect, k_train = jax.random.split(key)
        state, finished = collect.fill(state, k_collect, False)
        state, (wm_metrics, learner_metrics) = jax.lax.scan(
            train.update, state, jax.random.split(k_train, c.train_steps))
        last = jax.tree.map(lambda x: x[-1], (wm_metrics, learner_metrics))
        return state, (last, jnp.nansum(finished), jnp.sum(~jnp.isnan(finished)))

    def init(key) -> AgentState:
        key, k_model, k_learner, k_env, k_prefill, k_obs = jax.random.split(
            as_typed_key(key, where=f"{name}.init"), 6)
        model_params = model.init(k_model)
        env_carry, buffer_state = collect.init(model_params, k_env, k_obs)
        zero = jnp.zeros((), jnp.int32)
        state = AgentState(
            key=key, iteration=zero, env_steps=zero, updates=zero, model_params=model_params,
            model_opt=train.init(model_params), learner=behavior.init(k_learner),
            buffer=buffer_state, env=env_carry)
        # Prefill: random actions, collected in train_every chunks; the buffer must hold
        # seq_len rows per env before the first update samples from it.
        if c.prefill_chunks:
            state, _ = jax.lax.scan(lambda s, k: (collect.fill(s, k, True)[0], None),
                                    state, jax.random.split(k_prefill, c.prefill_chunks))
        return state

    def step(state: AgentState):
        key, k_phases, k_eval = jax.random.split(state.key, 3)
        state, (last, f_sum, f_count) = jax.lax.scan(phase, state,
                                                     jax.random.split(k_phases, c.phases))
        eval_return = evaluate(env, policy, (state.model_params, state.learner.actor), k_eval,
                               episodes=c.eval_episodes, num_steps=c.eval_steps).mean()
        wm_metrics, learner_metrics = jax.tree.map(lambda x: x[-1], last)
        count = f_count.sum()
        metrics = DreamerMetrics(
            env_steps=state.env_steps, eval_return=eval_return,
            train_return=jnp.where(count > 0, f_sum.sum() / jnp.maximum(count, 1), jnp.nan),
            model=wm_metrics, actor_loss=learner_metrics.actor_loss,
            critic_loss=learner_metrics.critic_loss, entropy=learner_metrics.entropy,
            imagined_return=learner_metrics.imagined_return)
        return state._replace(key=key, iteration=state.iteration + 1), metrics

    config = dict(env=env.name, total_steps=c.total_steps, num_envs=c.num_envs,
                  prefill=c.prefill, train_every=c.train_every, train_steps=c.train_steps,
                  batch_size=c.batch_size, seq_len=c.seq_len, capacity=c.capacity,
                  model_lr=model_lr, model_grad_clip=model_grad_clip,
                  eval_every=c.eval_every, eval_episodes=c.eval_episodes,
                  eval_steps=c.eval_steps,
                  replay_ratio=c.train_steps * c.batch_size * c.seq_len / c.train_every,
                  model=part_config(model), behavior=part_config(behavior))
    return Agent(name=name, init=init, step=step, iterations=c.points, policy=policy,
                 policy_params=lambda state: (state.model_params, state.learner.actor),
                 config=config)


def _settings(name, env, model, *, total_steps, num_envs, prefill, train_every, train_steps,
              batch_size, seq_len, capacity, model_lr, model_grad_clip, eval_every,
              eval_episodes, eval_steps) -> SimpleNamespace:
    """The loop's settings, checked against ``env`` and ``model``, and what follows
    from them: ``chunk`` (loop steps per env per phase), ``phases`` (per iteration),
    ``points`` (iterations of a full run), ``prefill_chunks`` and the default
    ``capacity``."""
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
    prefill_chunks = -(-prefill // train_every) if prefill else 0
    if capacity is None:
        # Resets take rows too: allow one in eight rows for them (CartPole's shortest
        # episodes are about ten steps).
        capacity = (total_steps + prefill_chunks * train_every) * 9 // 8 + num_envs * seq_len
    return SimpleNamespace(
        total_steps=total_steps, num_envs=num_envs, prefill=prefill, train_every=train_every,
        train_steps=train_steps, batch_size=batch_size, seq_len=seq_len, capacity=capacity,
        eval_every=eval_every, eval_episodes=eval_episodes, eval_steps=eval_steps,
        prefill_chunks=prefill_chunks, chunk=train_every // num_envs,
        phases=eval_every // train_every, points=total_steps // eval_every)
