"""Dreamer (Hafner et al., 2020; 2023): learn a world model from replayed sequences and
an actor-critic inside it, act with the actor.

An `Agent`: ``init`` builds the parameters and fills the buffer with ``prefill``
random steps; each iteration (``step``) takes ``eval_every`` env steps and ends with an
evaluation of the actor on fresh episodes. Env steps count the loop's steps in every
env, a reset included (it takes a step and a replay row, the first of an episode), so
evaluations come exactly at the prefill plus whole periods of ``eval_every``. ``num_envs`` environments step in parallel;
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

from jwm.agents.checks import check_schedule, check_spaces, part_config
from jwm.agents.contract import Agent, AgentState
from jwm.agents.dreamer_collect import collector, filtering_policy, replay
from jwm.agents.dreamer_train import dreamer_optimizer, trainer
from jwm.agents.episode import evaluate
from jwm.checks import check_int
from jwm.imagination.learner import LearnerMetrics
from jwm.keys import as_typed_key
from jwm.models.rssm_train import WorldModelMetrics
from jwm.records import record_repr

__all__ = ["DreamerMetrics", "dreamer", "dreamer_optimizer"]


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
      learner: `jwm.imagination.LearnerMetrics` of that update (without
        ``last_latents``).
    """

    env_steps: jax.Array
    eval_return: jax.Array
    train_return: jax.Array
    model: WorldModelMetrics
    learner: LearnerMetrics

    __repr__ = record_repr


def dreamer(env, model, learner, *, optimizer=None, total_steps: int = 101_000,
            num_envs: int = 4, prefill: int = 1_000, train_every: int = 16,
            train_steps: int = 1, batch_size: int = 16, seq_len: int = 64,
            capacity: int | None = None, eval_every: int = 4_000, eval_episodes: int = 8,
            eval_steps: int | None = None) -> Agent:
    """Builds the Dreamer `Agent`.

    Args:
      env: an `Env` (vector or image observations; Discrete or bounded Box actions).
      model: an `RSSMModel` for ``env``'s spaces (e.g. `jwm.models.rssm_model`).
      learner: a `jwm.imagination.Learner` whose ``inputs`` read the model's latents,
        e.g. `jwm.imagination.actor_critic` over ``model.features``.
      optimizer: the world model's optax optimizer (default `dreamer_optimizer()`:
        Adam 1e-4 after a global-norm clip of 1000).
      total_steps: env steps of a full run, summed over the parallel envs, the prefill
        (in whole phases of ``train_every``) included: the prefill plus
        ``agent.iterations`` periods of ``eval_every``.
      num_envs: environments stepped in parallel.
      prefill: env steps of uniformly random actions before training starts.
      train_every: env steps (summed over envs) between training phases; a multiple
        of ``num_envs``.
      train_steps: updates per training phase; the replay ratio is
        ``train_steps * batch_size * seq_len / train_every`` replayed steps per env step.
      batch_size, seq_len: shape of a replayed batch.
      capacity: rows the buffer keeps (default ``total_steps`` and an eighth more).
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
                  eval_every=eval_every, eval_episodes=eval_episodes, eval_steps=eval_steps)
    buffer = replay(name, num_envs=c.num_envs, batch_size=c.batch_size, seq_len=c.seq_len,
                    capacity=c.capacity)
    collect = collector(env, model, learner, buffer, num_envs=c.num_envs, chunk=c.chunk)
    train = trainer(model, learner, buffer,
                    dreamer_optimizer() if optimizer is None else optimizer)
    policy = filtering_policy(env, model, learner)

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
            model_opt=train.init(model_params), learner=learner.init(k_learner),
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
            model=wm_metrics, learner=learner_metrics)
        return state._replace(key=key, iteration=state.iteration + 1), metrics

    config = dict(env=env.name, total_steps=c.total_steps, num_envs=c.num_envs,
                  prefill=c.prefill, train_every=c.train_every, train_steps=c.train_steps,
                  batch_size=c.batch_size, seq_len=c.seq_len, capacity=c.capacity,
                  eval_every=c.eval_every, eval_episodes=c.eval_episodes,
                  eval_steps=c.eval_steps,
                  replay_ratio=c.train_steps * c.batch_size * c.seq_len / c.train_every,
                  model=part_config(model), learner=part_config(learner))
    return Agent(name=name, init=init, step=step, iterations=c.points, policy=policy,
                 policy_params=lambda state: (state.model_params, state.learner.actor),
                 config=config)


def _settings(name, env, model, *, total_steps, num_envs, prefill, train_every, train_steps,
              batch_size, seq_len, capacity, eval_every, eval_episodes,
              eval_steps) -> SimpleNamespace:
    """The loop's settings, checked against ``env`` and ``model``, and what follows
    from them: ``chunk`` (loop steps per env per phase), ``phases`` (per iteration),
    ``points`` (iterations of a full run), ``prefill_chunks`` and the default
    ``capacity``."""
    check_spaces(name, env, model, kind="an RSSMModel (jwm.models.rssm_model)")

    total_steps, num_envs, train_every, train_steps, batch_size, seq_len, eval_every, \
        eval_episodes = (check_int(name, param, value) for param, value in (
            ("total_steps", total_steps), ("num_envs", num_envs), ("train_every", train_every),
            ("train_steps", train_steps), ("batch_size", batch_size), ("seq_len", seq_len),
            ("eval_every", eval_every), ("eval_episodes", eval_episodes)))
    prefill = check_int(name, "prefill", prefill, minimum=0)
    points, prefilled = check_schedule(name, num_envs=num_envs, train_every=train_every,
                                       eval_every=eval_every, total_steps=total_steps,
                                       prefill=prefill)
    if eval_steps is None:
        eval_steps = env.max_episode_steps
    if eval_steps is None or eval_steps < 1:
        raise ValueError(f"{name}: eval_steps is needed for an env without a time limit")
    if capacity is None:
        # An eighth more than the run's rows, and a sequence per env.
        capacity = total_steps * 9 // 8 + num_envs * seq_len
    return SimpleNamespace(
        total_steps=total_steps, num_envs=num_envs, prefill=prefill, train_every=train_every,
        train_steps=train_steps, batch_size=batch_size, seq_len=seq_len, capacity=capacity,
        eval_every=eval_every, eval_episodes=eval_episodes, eval_steps=eval_steps,
        prefill_chunks=prefilled // train_every, chunk=train_every // num_envs,
        phases=eval_every // train_every, points=points)
