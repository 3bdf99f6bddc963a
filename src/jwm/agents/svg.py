"""An SVG agent: act with the policy, store, refit the model, improve the policy by
value gradients through the model, evaluate; the whole run one pure function.

Each round: one episode in the real environment with the stochastic policy (uniform
random actions in the warm-up rounds), its transitions into the buffer, a refit of the
learned model on the whole buffer (`jwm.models.fit`), ``updates_per_episode`` SVG
updates (`jwm.imagination.svg`) from start states drawn from the buffer, and an
evaluation of the deterministic policy over ``eval_episodes`` fresh episodes. Rounds
are one `lax.scan`, so ``run`` jit-compiles once; vmap it over keys for seeds.

With a fixed model (`jwm.models.true_model` of a differentiable environment) nothing
is fitted and nothing is stored. The starts cannot come from the buffer, whose
observations do not give the simulator's state back; instead a batch of imagined
trajectories is continued from update to update, each restarted from a fresh
``env.reset`` state with probability ``1 / T``, so that they visit the states the
current policy visits.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from jwm.agents.buffer import episode_transitions, transition_buffer
from jwm.agents.checks import buffer_capacity, check_spaces, fit_options_checked
from jwm.agents.mpc import mpc_episode
from jwm.models.base import WorldModel
from jwm.models.fit import fit
from jwm.planners.base import Planner

__all__ = ["SVGAgent", "SVGMetrics", "SVGResult", "svg"]


class SVGMetrics(NamedTuple):
    """Per-round metrics of an SVG run, ``K = episodes`` entries each.

    Attributes:
      eval_return: ``[K]`` mean undiscounted return of the deterministic policy over
        ``eval_episodes`` episodes after the round's updates (not counted as env steps).
      episode_return: ``[K]`` return of the round's collected (exploring) episode.
      env_steps: ``[K]`` int32 environment steps collected up to the end of the round.
      random: ``[K]`` bool, the round collected with uniformly random actions.
      actor_loss, critic_loss, imagined_return, entropy, actor_grad_norm: ``[K]``
        means over the round's updates (`jwm.imagination.SVGInfo`).
      model_loss: ``[K]`` training loss of the last epoch of the round's fit (NaN for
        a fixed model).
      model_val_error: ``[K]`` mean hold-out error over members of the weights kept
        (NaN for a fixed model).
    """

    eval_return: jax.Array
    episode_return: jax.Array
    env_steps: jax.Array
    random: jax.Array
    actor_loss: jax.Array
    critic_loss: jax.Array
    imagined_return: jax.Array
    entropy: jax.Array
    actor_grad_norm: jax.Array
    model_loss: jax.Array
    model_val_error: jax.Array


class SVGResult(NamedTuple):
    """The learner state, the model parameters, the buffer and the metrics at the end."""

    learner_state: Any
    model_params: Any
    buffer_state: Any
    metrics: SVGMetrics


@dataclasses.dataclass(frozen=True)
class SVGAgent:
    """An SVG run as a pure function.

    Attributes:
      run: ``run(key) -> SVGResult``; jit it, vmap it over keys for seeds.
      episodes, random_episodes, steps_per_episode, updates_per_episode, batch_size,
      eval_episodes, capacity, learned: its configuration (``learned``: the model is
      fitted to the buffer).
    """

    run: Callable[[jax.Array], SVGResult]
    episodes: int
    random_episodes: int
    steps_per_episode: int
    updates_per_episode: int
    batch_size: int
    eval_episodes: int
    capacity: int
    learned: bool


# Episodes run the policy on raw observations: this "model" only hands the
# observation to the planner as its latent.
_OBSERVATION = WorldModel(init=lambda key: (), encode=lambda params, obs: obs, step=None)


def svg(env, model, learner, *, episodes: int = 20, random_episodes: int = 1,
        steps_per_episode: int | None = None, updates_per_episode: int = 200,
        batch_size: int = 256, eval_episodes: int = 5, capacity: int | None = None,
        fit_options: dict | None = None,
        progress: Callable[[Any, Any], None] | None = None) -> SVGAgent:
    """Builds an SVG run.

    Args:
      env: an `Env` with vector observations and a `Box` action space.
      model: the model to fit, a learned `EnsembleModel` (`jwm.models.ensemble_model`
        or `mlp_model`); or a fixed `WorldModel` such as `jwm.models.true_model(env)`,
        which is used as is.
      learner: an `SVG` built on the model it imagines in: `jwm.models.member_model`
        of ``model`` for a learned one (same parameters), ``model`` itself otherwise.
      episodes: K, rounds in the run, warm-up included.
      random_episodes: warm-up rounds that collect with uniformly random actions (at
        least 1 for a learned model, whose first fit needs data).
      steps_per_episode: T, env steps per collected episode (default the env's limit).
      updates_per_episode: SVG updates per round.
      batch_size: B, start states per update.
      eval_episodes: episodes of the deterministic policy per evaluation.
      capacity: transitions the buffer keeps (default all ``K * T``).
      fit_options: keyword arguments for `jwm.models.fit` (epochs, batch_size, ...).
      progress: optional host callback ``progress(round_index, eval_return)`` after
        each round (once per seed under vmap).

    Returns:
      an `SVGAgent`.
    """
    name = "svg agent"
    if steps_per_episode is None:
        steps_per_episode = env.max_episode_steps
    for param, value, low in (("episodes", episodes, 1), ("random_episodes", random_episodes, 0),
                              ("steps_per_episode", steps_per_episode, 1),
                              ("updates_per_episode", updates_per_episode, 1),
                              ("batch_size", batch_size, 1), ("eval_episodes", eval_episodes, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name}: {param} must be an int >= {low}, got {value!r}")
    if random_episodes > episodes:
        raise ValueError(f"{name}: random_episodes ({random_episodes}) must be <= "
                         f"episodes ({episodes})")
    if hasattr(env.action_space, "n"):
        raise TypeError(f"{name}: SVG needs a continuous (Box) action space, got "
                        f"{env.action_space!r}")
    for field in ("init", "update", "act", "model"):
        if not hasattr(learner, field):
            raise TypeError(f"{name}: learner must be a jwm.imagination.svg(...) record, "
                            f"got {type(learner).__name__}")
    learned = getattr(model, "obs_dim", None) is not None and hasattr(model, "features")
    if learned:
        check_spaces(name, env, model)
        if random_episodes < 1:
            raise ValueError(f"{name}: random_episodes must be >= 1 with a learned model "
                             f"(its first fit needs data), got {random_episodes}")
    elif getattr(learner.model, "observes_state", False) is False:
        raise ValueError(f"{name}: with a fixed model the learner must imagine in a model "
                         "that starts from env states (observes_state=True, e.g. "
                         "jwm.models.true_model(env))")
    if fit_options and not learned:
        raise ValueError(f"{name}: fit_options given, but the model is not learned")
    fit_options = fit_options_checked(name, fit_options)
    capacity = buffer_capacity(name, capacity, episodes, steps_per_episode)

    action_space = env.action_space
    buffer = transition_buffer(capacity, env.observation_space.shape, action_space.shape)
    nan = jnp.full((), jnp.nan, jnp.float32)

    def explore_plan(plan_state, params, obs, key):
        learner_state, is_random = params
        k_random, k_policy = jax.random.split(key)
        # One traced body serves warm-up and policy rounds: the choice is data.
        action = jnp.where(is_random, action_space.sample(k_random),
                           learner.act(learner_state, obs, k_policy))
        return action, plan_state, ()

    def greedy_plan(plan_state, learner_state, obs, key):
        return learner.act(learner_state, obs, key, deterministic=True), plan_state, ()

    explorer = Planner(init=lambda key: (), plan=explore_plan)
    greedy = Planner(init=lambda key: (), plan=greedy_plan)

    imagine_in = learner.model

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

    def round_(carry, xs):
        model_params, learner_state, buffer_state, pool, steps = carry
        index, key = xs
        k_episode, k_fit, k_updates, k_eval = jax.random.split(key, 4)
        is_random = index < random_episodes
        ep = mpc_episode(env, _OBSERVATION, explorer, (learner_state, is_random), k_episode,
                         num_steps=steps_per_episode)
        steps = steps + ep.length
        model_loss, val_error = nan, nan
        if learned:
            buffer_state = buffer.add(buffer_state, episode_transitions(ep))
            model_params, fit_info = fit(model, model_params, buffer.contents(buffer_state),
                                         k_fit, **fit_options)
            model_loss, val_error = fit_info.train_loss[-1], fit_info.best_val_error.mean()
        contents = buffer.contents(buffer_state) if learned else None

        def one_update(carry, k):
            state, pool = carry
            k_starts, k_update = jax.random.split(k)
            starts = starts_from(model_params, contents, pool, k_starts)
            state, info = learner.update(state, model_params, starts, k_update)
            pool = info.last_latents if not learned else pool
            return (state, pool), info._replace(last_latents=())

        (learner_state, pool), infos = jax.lax.scan(
            one_update, (learner_state, pool), jax.random.split(k_updates, updates_per_episode))
        evaluate = lambda k: mpc_episode(env, _OBSERVATION, greedy, learner_state, k,
                                         num_steps=steps_per_episode).total_return
        eval_return = jax.vmap(evaluate)(jax.random.split(k_eval, eval_episodes)).mean()
        if progress is not None:
            jax.debug.callback(progress, index, eval_return)
        means = jax.tree.map(jnp.mean, infos)
        metrics = SVGMetrics(eval_return=eval_return, episode_return=ep.total_return,
                             env_steps=steps, random=is_random, actor_loss=means.actor_loss,
                             critic_loss=means.critic_loss,
                             imagined_return=means.imagined_return, entropy=means.entropy,
                             actor_grad_norm=means.actor_grad_norm, model_loss=model_loss,
                             model_val_error=val_error)
        return (model_params, learner_state, buffer_state, pool, steps), metrics

    def run(key) -> SVGResult:
        k_model, k_learner, k_rounds, k_pool = jax.random.split(key, 4)
        model_params = model.init(k_model)
        pool = () if learned else resets(model_params, k_pool)
        carry = (model_params, learner.init(k_learner),
                 buffer.init() if learned else (), pool, jnp.zeros((), jnp.int32))
        carry, metrics = jax.lax.scan(round_, carry,
                                      (jnp.arange(episodes), jax.random.split(k_rounds, episodes)))
        model_params, learner_state, buffer_state, _, _ = carry
        return SVGResult(learner_state=learner_state, model_params=model_params,
                         buffer_state=buffer_state, metrics=metrics)

    return SVGAgent(run=run, episodes=episodes, random_episodes=random_episodes,
                    steps_per_episode=steps_per_episode,
                    updates_per_episode=updates_per_episode, batch_size=batch_size,
                    eval_episodes=eval_episodes, capacity=capacity, learned=learned)
