"""PETS (Chua et al., 2018): act with MPC on a learned ensemble, store, refit, repeat.

An `Agent` whose iteration is one round: an episode (uniformly random actions in the
first ``random_episodes`` rounds, CEM-MPC on the current model after), its transitions
into the buffer, and a refit of the model on the whole buffer. Every planned episode
is run on the model fitted to all earlier data, so its return is the evaluation.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jwm.agents.buffer import episode_transitions, transition_buffer
from jwm.agents.checks import buffer_capacity, check_spaces, fit_options_checked, part_config
from jwm.agents.contract import Agent, AgentState
from jwm.agents.episode import run_episode
from jwm.checks import check_positive_int
from jwm.keys import as_typed_key
from jwm.models.fit import fit
from jwm.planners.base import Planner, make_planner
from jwm.policy import planner_policy
from jwm.records import record_repr

__all__ = ["PETSMetrics", "pets", "random_planner"]


class PETSMetrics(NamedTuple):
    """What one PETS round measured (scalars, but ``model_val_error``).

    Attributes:
      env_steps: int32 environment steps collected up to the end of the round.
      eval_return: undiscounted return of the round's episode (planned on the model
        fitted to all earlier data; uniformly random in the warm-up).
      train_return: the same episode's return (PETS learns from what it evaluates).
      episode_length: int32 steps inside the episode.
      random: bool, the episode used uniformly random actions.
      predicted_return: mean over the episode's steps of the planner's predicted
        return (NaN for random episodes).
      num_nonfinite: int32 non-finite candidate returns the planner discarded in the
        episode (a diverged model shows here first).
      model_loss: training loss of the last epoch of the refit.
      model_val_error: ``[E]`` hold-out error of the weights the refit kept.
    """

    env_steps: jax.Array
    eval_return: jax.Array
    train_return: jax.Array
    episode_length: jax.Array
    random: jax.Array
    predicted_return: jax.Array
    num_nonfinite: jax.Array
    model_loss: jax.Array
    model_val_error: jax.Array

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


def pets(env, model, planner, *, episodes: int = 10, random_episodes: int = 1,
         steps_per_episode: int | None = None, capacity: int | None = None,
         fit_options: dict | None = None) -> Agent:
    """Builds the PETS `Agent`.

    Args:
      env: an `Env` with vector observations.
      model: an `EnsembleModel` (e.g. `jwm.models.ensemble_model`) for ``env``'s spaces.
      planner: a `Planner` built on ``model`` (e.g. `jwm.planners.cem`).
      episodes: K, rounds of a full run (``agent.iterations``), warm-up included.
      random_episodes: warm-up rounds of uniformly random actions (at least 1, so the
        first fit has data, and fewer than ``episodes``, so something is planned).
      steps_per_episode: T, env steps per episode (default the env's time limit).
      capacity: transitions the buffer keeps (default all ``K * T``; a longer run
        overwrites the oldest).
      fit_options: keyword arguments for `jwm.models.fit` (epochs, batch_size, ...).

    Returns:
      an `Agent` (``name="pets"``) whose ``step`` returns `PETSMetrics` and whose
      policy is MPC with ``planner`` on the model (params: the model's).
    """
    name = "pets"
    if steps_per_episode is None:
        steps_per_episode = env.max_episode_steps
    check_positive_int(name, "episodes", episodes, 2)
    check_positive_int(name, "random_episodes", random_episodes)
    check_positive_int(name, "steps_per_episode", steps_per_episode)
    if random_episodes >= episodes:
        raise ValueError(f"{name}: random_episodes ({random_episodes}) must be < episodes "
                         f"({episodes}), or no episode is planned")
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
            episode_length=ep.length, random=is_random,
            predicted_return=jnp.where(is_random, jnp.nan, predicted),
            num_nonfinite=ep.num_nonfinite.sum(), model_loss=info.train_loss[-1],
            model_val_error=info.best_val_error)
        state = state._replace(key=key, iteration=state.iteration + 1, env_steps=env_steps,
                               updates=state.updates + 1, model_params=params,
                               buffer=buffer_state)
        return state, metrics

    config = dict(env=env.name, episodes=episodes, random_episodes=random_episodes,
                  steps_per_episode=steps_per_episode, capacity=capacity,
                  fit=fit_options, model=part_config(model), planner=part_config(planner))
    return Agent(name=name, init=init, step=step, iterations=episodes, policy=policy,
                 policy_params=lambda state: state.model_params, config=config)
