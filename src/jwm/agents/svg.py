"""An SVG agent: act with the policy, store, refit the model, improve the policy by
value gradients through the model, evaluate; the whole run one pure function.

Each round: one episode in the real environment with the stochastic policy (uniform
random actions in the warm-up rounds), its transitions into the buffer, a refit of the
learned model on the whole buffer (`jwm.models.fit`), ``updates_per_episode`` SVG
updates of the learner (`jwm.imagination.value_gradient`, through the one `Learner`
interface) from start states drawn from the buffer, and an
evaluation of the deterministic policy over ``eval_episodes`` fresh episodes. A round
is the `Agent`'s iteration.

With a fixed model (`jwm.models.true_model` of a differentiable environment) nothing
is fitted and nothing is stored. The starts cannot come from the buffer, whose
observations do not give the simulator's state back; instead a batch of imagined
trajectories is continued from update to update, each restarted from a fresh
``env.reset`` state with probability ``1 / T``, so that they visit the states the
current policy visits.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jwm.agents.buffer import episode_transitions, transition_buffer
from jwm.agents.checks import (buffer_capacity, check_spaces, episode_schedule,
                               fit_options_checked, part_config)
from jwm.agents.contract import Agent, AgentState, ModelFitMetrics
from jwm.agents.episode import evaluate, run_episode
from jwm.checks import check_int
from jwm.imagination.learner import LearnerMetrics
from jwm.keys import as_typed_key
from jwm.models.fit import fit
from jwm.policy import stateless_policy
from jwm.records import record_repr

__all__ = ["SVGMetrics", "svg"]


class SVGMetrics(NamedTuple):
    """What one SVG round measured.

    Attributes:
      env_steps: int32 environment steps collected up to the end of the round.
      eval_return: mean undiscounted return of the deterministic policy over
        ``eval_episodes`` fresh episodes after the round's updates (not counted as
        env steps).
      train_return: return of the round's collected (exploring) episode.
      random: bool, the round collected with uniformly random actions.
      model: `ModelFitMetrics` of the round's fit (NaN, ``val_error [1]``, for a fixed
        model).
      learner: `jwm.imagination.LearnerMetrics`, means over the round's updates
        (without ``last_latents``).
    """

    env_steps: jax.Array
    eval_return: jax.Array
    train_return: jax.Array
    random: jax.Array
    model: ModelFitMetrics
    learner: LearnerMetrics

    __repr__ = record_repr


def svg(env, model, learner, *, total_steps: int = 4_000, prefill: int | None = None,
        steps_per_episode: int | None = None, updates_per_episode: int = 200,
        batch_size: int = 256, eval_episodes: int = 5, capacity: int | None = None,
        fit_options: dict | None = None) -> Agent:
    """Builds the SVG `Agent`.

    Args:
      env: an `Env` with vector observations and a `Box` action space.
      model: the model to fit, a learned `EnsembleModel` (`jwm.models.ensemble_model`
        or `mlp_model`); or a fixed `WorldModel` such as `jwm.models.true_model(env)`,
        which is used as is.
      learner: a `jwm.imagination.Learner` whose ``model`` is the model it imagines
        in and whose ``act`` reads observations, as `jwm.imagination.value_gradient`
        builds it: on `jwm.models.member_model` of ``model`` for a learned one (same
        parameters), on ``model`` itself otherwise.
      total_steps: env steps of a full run, the prefill included; a multiple of
        ``steps_per_episode``, one round (``agent.iterations``) per episode.
      prefill: env steps of the warm-up rounds that collect with uniformly random
        actions, whole episodes (default one; 0 allowed only for a fixed model: a
        learned model's first fit needs data).
      steps_per_episode: T, env steps per collected episode (default the env's limit).
      updates_per_episode: learner updates per round.
      batch_size: B, start states per update.
      eval_episodes: episodes of the deterministic policy per evaluation.
      capacity: transitions the buffer keeps (default all ``total_steps``).
      fit_options: keyword arguments for `jwm.models.fit` (epochs, batch_size, ...).

    Returns:
      an `Agent` (``name="svg"``) whose ``step`` returns `SVGMetrics`; its policy is
      the learner's deterministic policy (params: the learner's state). With a fixed
      model the state's ``buffer`` holds the imagined latents continued from update to
      update instead of transitions.
    """
    name = "svg"
    if steps_per_episode is None:
        steps_per_episode = env.max_episode_steps
    for param, value in (("steps_per_episode", steps_per_episode),
                         ("updates_per_episode", updates_per_episode),
                         ("batch_size", batch_size), ("eval_episodes", eval_episodes)):
        check_int(name, param, value)
    learned = _check_parts(name, env, model, learner, fit_options)
    episodes, random_episodes = episode_schedule(name, total_steps, prefill, steps_per_episode,
                                                 least_prefill=1 if learned else 0)
    fit_options = fit_options_checked(name, fit_options)
    capacity = buffer_capacity(name, capacity, episodes, steps_per_episode)

    action_space = env.action_space
    buffer = transition_buffer(capacity, env.observation_space.shape, action_space.shape)
    nan = jnp.full((), jnp.nan, jnp.float32)
    unfitted = ModelFitMetrics(loss=nan, val_error=jnp.full((1,), jnp.nan, jnp.float32))

    explorer, policy = _policies(learner, action_space)
    imagine_in = learner.model

    resets, starts_from = _start_sampler(env, imagine_in, learned=learned,
                                         batch_size=batch_size,
                                         steps_per_episode=steps_per_episode)

    def init(key) -> AgentState:
        key, k_model, k_learner, k_pool = jax.random.split(as_typed_key(key, where=f"{name}.init"), 4)
        model_params = model.init(k_model)
        zero = jnp.zeros((), jnp.int32)
        return AgentState(key=key, iteration=zero, env_steps=zero, updates=zero,
                          model_params=model_params, model_opt=(),
                          learner=learner.init(k_learner),
                          buffer=buffer.init() if learned else resets(model_params, k_pool),
                          env=())

    def step(state: AgentState):
        key, k_episode, k_fit, k_updates, k_eval = jax.random.split(state.key, 5)
        model_params, learner_state, stored = state.model_params, state.learner, state.buffer
        is_random = state.iteration < random_episodes
        ep = run_episode(env, explorer, (learner_state, is_random), k_episode,
                         num_steps=steps_per_episode)
        env_steps = state.env_steps + ep.length
        fitted, contents = unfitted, None
        if learned:
            stored = buffer.add(stored, episode_transitions(ep))
            contents = buffer.contents(stored)
            model_params, fit_info = fit(model, model_params, contents, k_fit, **fit_options)
            fitted = ModelFitMetrics(loss=fit_info.train_loss[-1],
                                     val_error=fit_info.best_val_error)

        def one_update(carry, k):
            learner_state, pool = carry
            k_starts, k_update = jax.random.split(k)
            starts = starts_from(model_params, contents, pool, k_starts)
            learner_state, info = learner.update(learner_state, imagine_in, model_params,
                                                 starts, k_update)
            pool = pool if learned else info.last_latents
            return (learner_state, pool), info._replace(last_latents=())

        (learner_state, pool), infos = jax.lax.scan(
            one_update, (learner_state, () if learned else stored),
            jax.random.split(k_updates, updates_per_episode))
        stored = stored if learned else pool
        eval_return = evaluate(env, policy, learner_state, k_eval, episodes=eval_episodes,
                               num_steps=steps_per_episode).mean()
        metrics = SVGMetrics(env_steps=env_steps, eval_return=eval_return,
                             train_return=ep.total_return, random=is_random, model=fitted,
                             learner=jax.tree.map(jnp.mean, infos))
        state = AgentState(key=key, iteration=state.iteration + 1, env_steps=env_steps,
                           updates=state.updates + updates_per_episode,
                           model_params=model_params, model_opt=(), learner=learner_state,
                           buffer=stored, env=())
        return state, metrics

    config = dict(env=env.name, total_steps=total_steps,
                  prefill=random_episodes * steps_per_episode,
                  steps_per_episode=steps_per_episode, updates_per_episode=updates_per_episode,
                  batch_size=batch_size, eval_episodes=eval_episodes, capacity=capacity,
                  learned=learned, fit=fit_options, model=part_config(model),
                  learner=part_config(learner))
    return Agent(name=name, init=init, step=step, iterations=episodes, policy=policy,
                 policy_params=lambda state: state.learner, config=config)


def _start_sampler(env, imagine_in, *, learned: bool, batch_size: int, steps_per_episode: int):
    """``(resets(model_params, key), starts_from(model_params, contents, pool, key))``:
    ``batch_size`` imagined start latents from fresh resets, and those of one update
    (from the buffer's rows for a learned model, continuing ``pool`` for a fixed one)."""

    def resets(model_params, key):
        states = jax.vmap(lambda k: env.reset(k)[0])(jax.random.split(key, batch_size))
        return jax.vmap(imagine_in.encode, (None, 0))(model_params, states)

    def starts_from(model_params, contents, pool, key):
        """Start latents ``[B, ...]`` of an update."""
        if learned:
            # Uniform over the rows that hold transitions.
            logits = jnp.where(contents.valid, 0.0, -jnp.inf)
            rows = jax.random.categorical(key, logits, shape=(batch_size,))
            return jax.vmap(imagine_in.encode, (None, 0))(model_params, contents.obs[rows])
        # A fixed model continues the trajectories the last update imagined, so its
        # starts follow the policy's own state distribution (as parallel environments
        # would); each restarts from a fresh reset with probability 1 / T.
        restart = jax.random.uniform(key, (batch_size,)) < 1.0 / steps_per_episode
        fresh = resets(model_params, jax.random.fold_in(key, 1))
        return jax.tree.map(
            lambda a, b: jnp.where(restart.reshape((-1,) + (1,) * (a.ndim - 1)), a, b),
            fresh, pool)

    return resets, starts_from


def _check_parts(name, env, model, learner, fit_options) -> bool:
    """Whether ``model`` is learned (fitted to the buffer) or fixed, after checking the
    parts fit together; errors name the part."""
    if hasattr(env.action_space, "n"):
        raise TypeError(f"{name}: SVG needs a continuous (Box) action space, got "
                        f"{env.action_space!r}")
    if not all(callable(getattr(learner, f, None)) for f in ("init", "update", "act")) or (
            getattr(learner, "model", None) is None):
        raise TypeError(f"{name}: learner must be a jwm.imagination.Learner that imagines "
                        f"in a model of its own (jwm.imagination.value_gradient(...)), got "
                        f"{type(learner).__name__}")
    learned = getattr(model, "obs_shape", None) is not None and hasattr(model, "features")
    if learned:
        check_spaces(name, env, model)
    elif getattr(learner.model, "observes_state", False) is False:
        raise ValueError(f"{name}: with a fixed model the learner must imagine in a model "
                         "that starts from env states (observes_state=True, e.g. "
                         "jwm.models.true_model(env))")
    if fit_options and not learned:
        raise ValueError(f"{name}: fit_options given, but the model is not learned")
    return learned


def _policies(learner, action_space):
    """``(explorer, policy)``: the collecting `Policy` (params ``(learner_state,
    is_random)``: uniformly random actions in the warm-up) and the deterministic
    evaluation one (params: the learner's state)."""

    def explore_act(params, obs, key):
        learner_state, is_random = params
        k_random, k_policy = jax.random.split(key)
        # One traced body serves warm-up and policy rounds: the choice is data.
        return jnp.where(is_random, action_space.sample(k_random),
                         learner.act(learner_state.actor, obs, k_policy))

    explorer = stateless_policy(explore_act)
    policy = stateless_policy(lambda learner_state, obs, key: learner.act(
        learner_state.actor, obs, key, deterministic=True))
    return explorer, policy
