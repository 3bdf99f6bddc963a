"""PETS (Chua et al., 2018): act with MPC on a learned ensemble, store, refit, repeat.

The whole run — random warm-up episodes, then ``episodes - random_episodes`` rounds
of (MPC episode on the current model, add it to the buffer, refit the model) — is one
pure function of a key: jit it once and vmap it over keys for seeds.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from jwm.agents.buffer import episode_transitions, transition_buffer
from jwm.agents.checks import buffer_capacity, check_spaces, fit_options_checked
from jwm.agents.mpc import mpc_episode
from jwm.models.fit import fit
from jwm.planners.base import Planner

__all__ = ["PETS", "PETSMetrics", "PETSResult", "pets", "random_planner"]


class PETSMetrics(NamedTuple):
    """Per-episode metrics of a PETS run, ``K = episodes`` entries each (random
    warm-up episodes first).

    Attributes:
      episode_return: ``[K]`` undiscounted return of each collected episode. Every
        episode after the warm-up is run by the planner on the model fitted to all
        earlier data, so this is the evaluation of that model.
      episode_length: ``[K]`` int32 steps inside each episode.
      env_steps: ``[K]`` int32 environment steps taken up to the end of each episode.
      random: ``[K]`` bool, the episode used uniformly random actions.
      predicted_return: ``[K]`` mean over the episode's steps of the planner's
        predicted return (NaN for random episodes).
      train_loss: ``[K]`` training loss of the last epoch of the fit after the episode.
      val_error: ``[K, E]`` hold-out error of the weights kept by that fit.
    """

    episode_return: jax.Array
    episode_length: jax.Array
    env_steps: jax.Array
    random: jax.Array
    predicted_return: jax.Array
    train_loss: jax.Array
    val_error: jax.Array


class PETSResult(NamedTuple):
    """The model parameters after the last fit, the buffer, and the metrics."""

    params: Any
    buffer_state: Any
    metrics: PETSMetrics


@dataclasses.dataclass(frozen=True)
class PETS:
    """A PETS run as a pure function.

    Attributes:
      run: ``run(key) -> PETSResult``; jit it, vmap it over keys for seeds.
      episodes, random_episodes, steps_per_episode, capacity: its configuration.
    """

    run: Callable[[jax.Array], PETSResult]
    episodes: int
    random_episodes: int
    steps_per_episode: int
    capacity: int


def random_planner(action_space) -> Planner:
    """A `Planner` that ignores the model and acts uniformly at random."""

    def init(key):
        del key
        return ()

    def plan(plan_state, params, latent, key):
        del params, latent
        return action_space.sample(key), plan_state, ()

    return Planner(init=init, plan=plan)


def pets(env, model, planner, *, episodes: int = 10, random_episodes: int = 1,
         steps_per_episode: int | None = None, capacity: int | None = None,
         fit_options: dict | None = None,
         progress: Callable[[Any, Any], None] | None = None) -> PETS:
    """Builds a PETS run.

    Args:
      env: an `Env` with vector observations.
      model: an `EnsembleModel` (e.g. `jwm.models.ensemble_model`) for ``env``'s spaces.
      planner: a `Planner` built on ``model`` (e.g. `jwm.planners.cem`).
      episodes: K, episodes in the run, the random warm-up included.
      random_episodes: warm-up episodes of uniformly random actions (at least 1, so
        the first fit has data).
      steps_per_episode: T, env steps per episode (default the env's time limit).
      capacity: transitions the buffer keeps (default all ``K * T``).
      fit_options: keyword arguments for `jwm.models.fit` (epochs, batch_size, ...).
      progress: optional host callback ``progress(episode_index, episode_return)``
        called after each episode (once per seed under vmap).

    Returns:
      a `PETS` record.
    """
    name = "pets"
    if steps_per_episode is None:
        steps_per_episode = env.max_episode_steps
    for param, value in (("episodes", episodes), ("random_episodes", random_episodes),
                         ("steps_per_episode", steps_per_episode)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            # random_episodes >= 1 too: the first fit needs data, an empty buffer cannot be fit.
            raise ValueError(f"{name}: {param} must be an int >= 1, got {value!r}")
    if random_episodes > episodes:
        raise ValueError(f"{name}: random_episodes ({random_episodes}) must be <= "
                         f"episodes ({episodes})")
    capacity = buffer_capacity(name, capacity, episodes, steps_per_episode)
    check_spaces(name, env, model)
    fit_options = fit_options_checked(name, fit_options)

    obs_shape = env.observation_space.shape
    action_shape = env.action_space.shape
    action_dtype = jnp.int32 if hasattr(env.action_space, "n") else jnp.float32
    buffer = transition_buffer(capacity, obs_shape, action_shape, action_dtype)
    explore = random_planner(env.action_space)

    def episode(planner_, params, key):
        return mpc_episode(env, model, planner_, params, key, num_steps=steps_per_episode)

    def refit(params, buffer_state, key):
        return fit(model, params, buffer.contents(buffer_state), key, **fit_options)

    def round_(carry, xs, planner_, is_random):
        params, buffer_state, steps = carry
        index, key = xs
        k_episode, k_fit = jax.random.split(key)
        ep = episode(planner_, params, k_episode)
        buffer_state = buffer.add(buffer_state, episode_transitions(ep))
        params, info = refit(params, buffer_state, k_fit)
        steps = steps + ep.length
        if progress is not None:
            jax.debug.callback(progress, index, ep.total_return)
        active = ep.active.astype(jnp.float32)
        predicted = (jnp.full((), jnp.nan, jnp.float32) if is_random else
                     (ep.predicted_returns * active).sum() / jnp.maximum(active.sum(), 1.0))
        metrics = PETSMetrics(episode_return=ep.total_return, episode_length=ep.length,
                              env_steps=steps, random=jnp.asarray(is_random),
                              predicted_return=predicted, train_loss=info.train_loss[-1],
                              val_error=info.best_val_error)
        return (params, buffer_state, steps), metrics

    def run(key) -> PETSResult:
        k_init, k_random, k_learn = jax.random.split(key, 3)
        carry = (model.init(k_init), buffer.init(), jnp.zeros((), jnp.int32))
        indices = jnp.arange(episodes)
        carry, warmup = jax.lax.scan(
            lambda c, xs: round_(c, xs, explore, True), carry,
            (indices[:random_episodes], jax.random.split(k_random, random_episodes)))
        parts = [warmup]
        learning = episodes - random_episodes
        if learning:
            carry, learned = jax.lax.scan(
                lambda c, xs: round_(c, xs, planner, False), carry,
                (indices[random_episodes:], jax.random.split(k_learn, learning)))
            parts.append(learned)
        metrics = jax.tree.map(lambda *xs: jnp.concatenate(xs), *parts)
        params, buffer_state, _ = carry
        return PETSResult(params=params, buffer_state=buffer_state, metrics=metrics)

    return PETS(run=run, episodes=episodes, random_episodes=random_episodes,
                steps_per_episode=steps_per_episode, capacity=capacity)

