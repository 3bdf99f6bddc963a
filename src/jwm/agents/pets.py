"""PETS (Chua et al., 2018): act with MPC on a learned ensemble, store, refit, repeat.

An `Agent` whose iteration is one round: an episode (uniformly random actions while
the ``prefill`` lasts, CEM-MPC on the current model after), its transitions
into the buffer, and a refit of the model on the whole buffer. Every planned episode
is run on the model fitted to all earlier data, so its return is the evaluation.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jwm.agents.buffer import episode_transitions, transition_buffer
from jwm.agents.checks import (buffer_capacity, check_spaces, episode_schedule,
                               fit_options_checked, part_config)
from jwm.agents.contract import Agent, AgentState, ModelFitMetrics, PlannerMetrics
from jwm.agents.episode import run_episode
from jwm.checks import check_int
from jwm.keys import as_typed_key
from jwm.models.fit import fit
from jwm.planners.base import Planner, make_planner
from jwm.policy import planner_policy
from jwm.records import record_repr

__all__ = ["PETSMetrics", "pets", "random_planner"]


class PETSMetrics(NamedTuple):
    """What one PETS round measured.

    Attributes:
      env_steps: int32 environment steps collected up to the end of the round.
      eval_return: undiscounted return of the round's episode (planned on the model
        fitted to all earlier data; uniformly random in the prefill).
      train_return: the same episode's return (PETS learns from what it evaluates).
      episode_length: int32 steps inside the episode.
      random: bool, the episode used uniformly random actions.
      num_nonfinite: int32 non-finite candidate returns the planner discarded in the
        episode (a diverged model shows here first).
      model: `ModelFitMetrics` of the refit after the episode.
      planner: `PlannerMetrics` of the episode (NaN for random episodes).
    """

    env_steps: jax.Array
    eval_return: jax.Array
    train_return: jax.Array
    episode_length: jax.Array
    random: jax.Array
    num_nonfinite: jax.Array
    model: ModelFitMetrics
    planner: PlannerMetrics

    __repr__ = record_repr


def random_planner(action_space) -> Planner:
    """A `Planner` that ignores the model and acts uniformly at random."""

    def init(key):
        del key
        return ()

    def plan(plan_state, params, latent, key):
        del params, latent
        return action_space.sample(key), plan_state, ()

    return make_planner("random_planner", init, plan)


def pets(env, model, planner, *, total_steps: int = 2_000, prefill: int | None = None,
         steps_per_episode: int | None = None, capacity: int | None = None,
         fit_options: dict | None = None) -> Agent:
    """Builds the PETS `Agent`.

    Args:
      env: an `Env` with vector observations.
      model: an `EnsembleModel` (e.g. `jwm.models.ensemble_model`) for ``env``'s spaces.
      planner: a `Planner` built on ``model`` (e.g. `jwm.planners.cem`).
      total_steps: env steps of a full run, the prefill included; a multiple of
        ``steps_per_episode``, one round (``agent.iterations``) per episode (an
        episode that ends early collects fewer steps).
      prefill: env steps of uniformly random actions before planning starts (default
        one episode; a multiple of ``steps_per_episode``, at least one episode, so the
        first fit has data, and fewer than ``total_steps``, so something is planned).
      steps_per_episode: T, env steps per episode (default the env's time limit).
      capacity: transitions the buffer keeps (default all ``total_steps``; a longer
        run overwrites the oldest).
      fit_options: keyword arguments for `jwm.models.fit` (epochs, batch_size,
        learning_rate, ...).

    Returns:
      an `Agent` (``name="pets"``) whose ``step`` returns `PETSMetrics` and whose
      policy is MPC with ``planner`` on the model (params: the model's).
    """
    name = "pets"
    if steps_per_episode is None:
        steps_per_episode = env.max_episode_steps
    check_int(name, "steps_per_episode", steps_per_episode)
    episodes, random_episodes = episode_schedule(name, total_steps, prefill,
                                                 steps_per_episode)
    capacity = buffer_capacity(name, capacity, episodes, steps_per_episode)
    check_spaces(name, env, model)
    fit_options = fit_options_checked(name, fit_options)

    action_dtype = jnp.int32 if hasattr(env.action_space, "n") else jnp.float32
    buffer = transition_buffer(capacity, env.observation_space.shape, env.action_space.shape,
                               action_dtype)
    explore = planner_policy(model, random_planner(env.action_space))
    policy = planner_policy(model, planner)

    def init(key) -> AgentState:
        key, k_model = jax.random.split(as_typed_key(key, where=f"{name}.init"))
        zero = jnp.zeros((), jnp.int32)
        return AgentState(key=key, iteration=zero, env_steps=zero, updates=zero,
                          model_params=model.init(k_model), model_opt=(), learner=(),
                          buffer=buffer.init(), env=())

    def step(state: AgentState):
        key, k_episode, k_fit = jax.random.split(state.key, 3)
        is_random = state.iteration < random_episodes
        episode = lambda pol, k: run_episode(env, pol, state.model_params, k,
                                             num_steps=steps_per_episode)
        ep = jax.lax.cond(is_random, lambda k: episode(explore, k), lambda k: episode(policy, k),
                          k_episode)
        buffer_state = buffer.add(state.buffer, episode_transitions(ep))
        params, info = fit(model, state.model_params, buffer.contents(buffer_state), k_fit,
                           **fit_options)
        env_steps = state.env_steps + ep.length
        active = ep.active.astype(jnp.float32)
        predicted = (ep.predicted_returns * active).sum() / jnp.maximum(active.sum(), 1.0)
        metrics = PETSMetrics(
            env_steps=env_steps, eval_return=ep.total_return, train_return=ep.total_return,
            episode_length=ep.length, random=is_random, num_nonfinite=ep.num_nonfinite.sum(),
            model=ModelFitMetrics(loss=info.train_loss[-1], val_error=info.best_val_error),
            planner=PlannerMetrics(predicted_return=jnp.where(is_random, jnp.nan, predicted)))
        state = state._replace(key=key, iteration=state.iteration + 1, env_steps=env_steps,
                               updates=state.updates + 1, model_params=params,
                               buffer=buffer_state)
        return state, metrics

    config = dict(env=env.name, total_steps=total_steps,
                  prefill=random_episodes * steps_per_episode,
                  steps_per_episode=steps_per_episode, capacity=capacity,
                  fit=fit_options, model=part_config(model), planner=part_config(planner))
    return Agent(name=name, init=init, step=step, iterations=episodes, policy=policy,
                 policy_params=lambda state: state.model_params, config=config)
