"""Dreamer's actor-critic, learned purely in imagination (Hafner et al., 2020; 2023).

From a batch of start latents, the actor is rolled out inside the world model for
``horizon`` steps (`imagine`); the critic scores every imagined state; lambda-returns
mix the imagined rewards with the critic's values. Then

- the **critic** (two-hot over symlog bins) regresses the lambda-returns and is pulled
  towards a slow EMA copy of itself, which steadies its own targets;
- the **actor** maximises the returns, scaled by ``max(1, S)`` where ``S`` is an EMA of
  the 5th-95th percentile range of the returns (so sparse and dense rewards get the
  same entropy trade-off), plus an entropy bonus. Continuous actions take the
  analytic gradient through the model's dynamics (reparameterised tanh-Gaussian);
  discrete ones use REINFORCE with the critic as baseline.

Every imagined step is weighted by the model's cumulative discount, so nothing after
an imagined termination is learned from.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any, Callable, NamedTuple

import distrax
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jwm.imagination.returns import lambda_returns
from jwm.imagination.rollout import imagine
from jwm.models.layers import NormMLP
from jwm.models.twohot import twohot_bins, twohot_loss, twohot_mean

__all__ = ["ActorCritic", "ActorCriticState", "ActorCriticMetrics", "actor_critic",
           "GRADIENTS"]

GRADIENTS = ("auto", "dynamics", "reinforce")


class ActorCriticState(NamedTuple):
    """Everything the actor-critic learns.

    Attributes:
      actor, critic, slow_critic: flax variables; ``slow_critic`` is the EMA of
        ``critic``.
      actor_opt, critic_opt: optax states.
      return_scale: scalar EMA of the 95th minus 5th percentile of the returns.
    """

    actor: Any
    critic: Any
    slow_critic: Any
    actor_opt: Any
    critic_opt: Any
    return_scale: jax.Array


class ActorCriticMetrics(NamedTuple):
    """Scalars of one update (means over the weighted imagined steps)."""

    actor_loss: jax.Array
    critic_loss: jax.Array
    entropy: jax.Array
    imagined_return: jax.Array
    value: jax.Array
    return_scale: jax.Array
    actor_grad_norm: jax.Array


@dataclasses.dataclass(frozen=True)
class ActorCritic:
    """The actor-critic as pure functions.

    Attributes:
      init: ``init(key) -> ActorCriticState``.
      update: ``update(state, model, model_params, start_latents, key, start_weights=None)
        -> (state, ActorCriticMetrics)``; ``start_latents`` leaves ``[B, ...]``,
        ``start_weights [B]`` (e.g. 0 for terminal starts; default 1).
      act: ``act(actor_params, features [..., F], key, deterministic=False) -> action``
        in the env's units (int for Discrete, inside the bounds for a Box).
      value: ``value(critic_params, features [..., F]) -> [...]``.
      distribution: ``distribution(actor_params, features) -> distrax distribution``
        over actions in ``[-1, 1]`` (Box) or indices (Discrete).
      config: the hyperparameters.
    """

    init: Callable
    update: Callable
    act: Callable
    value: Callable
    distribution: Callable
    config: dict


def actor_critic(features: Callable[[Any], jax.Array], feature_dim: int, action_space, *,
                 horizon: int = 15, discount: float = 0.99, lambda_: float = 0.95,
                 units: int = 64, layers: int = 2, entropy: float = 3e-4,
                 actor_lr: float = 1e-4, critic_lr: float = 1e-4, grad_clip: float = 100.0,
                 slow_decay: float = 0.98, return_decay: float = 0.99,
                 gradient: str = "auto", num_bins: int = 255,
                 min_std: float = 0.1) -> ActorCritic:
    """Builds Dreamer's actor-critic over a model's latent features.

    Args:
      features: ``features(latent) -> [..., F]``, e.g. ``RSSMModel.features``.
      feature_dim: ``F``.
      action_space: a `Discrete` or bounded `Box`.
      horizon: imagined steps per update.
      discount: per-step discount, multiplied with the model's continue probability.
      lambda_: lambda of the returns.
      units, layers: width and depth of the actor and critic MLPs.
      entropy: weight of the entropy bonus.
      actor_lr, critic_lr: Adam learning rates; grad_clip: global-norm clip.
      slow_decay: EMA decay of the slow critic; return_decay: EMA decay of the return
        scale.
      gradient: ``"dynamics"`` (backpropagate through the model), ``"reinforce"``, or
        ``"auto"`` (dynamics for a Box, reinforce for Discrete).
      num_bins: two-hot bins of the critic.
      min_std: floor of the Gaussian policy's standard deviation (before tanh).
    """
    name = "actor_critic"
    for param, value in (("feature_dim", feature_dim), ("horizon", horizon),
                         ("units", units), ("layers", layers), ("num_bins", num_bins)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name}: {param} must be a positive int, got {value!r}")
    for param, value, low, high in (("discount", discount, 0.0, 1.0),
                                    ("lambda_", lambda_, 0.0, 1.0),
                                    ("slow_decay", slow_decay, 0.0, 1.0),
                                    ("return_decay", return_decay, 0.0, 1.0)):
        if not low <= float(value) <= high:
            raise ValueError(f"{name}: {param} must be in [{low}, {high}], got {value!r}")
    for param, value in (("actor_lr", actor_lr), ("critic_lr", critic_lr),
                         ("grad_clip", grad_clip), ("min_std", min_std)):
        if not float(value) > 0:
            raise ValueError(f"{name}: {param} must be > 0, got {value!r}")
    if float(entropy) < 0:
        raise ValueError(f"{name}: entropy must be >= 0, got {entropy!r}")
    if gradient not in GRADIENTS:
        raise ValueError(f"{name}: gradient must be one of {GRADIENTS}, got {gradient!r}")
    discrete = hasattr(action_space, "n") and not hasattr(action_space, "low")
    if not discrete:
        if not hasattr(action_space, "low") or not (
                np.isfinite(action_space.low).all() and np.isfinite(action_space.high).all()):
            raise TypeError(f"{name}: action_space must be Discrete or a bounded Box, "
                            f"got {action_space!r}")
    if gradient == "auto":
        gradient = "reinforce" if discrete else "dynamics"
    if gradient == "dynamics" and discrete:
        raise ValueError(f"{name}: gradient='dynamics' needs a continuous (Box) action space")

    if discrete:
        n = int(action_space.n)
        actor_net = NormMLP(units, layers, n)
    else:
        shape = tuple(action_space.shape)
        dim = int(np.prod(shape))
        mid = jnp.asarray((action_space.high + action_space.low) / 2, jnp.float32)
        half = jnp.asarray((action_space.high - action_space.low) / 2, jnp.float32)
        actor_net = NormMLP(units, layers, 2 * dim)
    critic_net = NormMLP(units, layers, num_bins, zero_out=True)
    bins = twohot_bins(num_bins)
    clip = optax.clip_by_global_norm(grad_clip)
    actor_tx = optax.chain(clip, optax.adam(actor_lr, eps=1e-5))
    critic_tx = optax.chain(clip, optax.adam(critic_lr, eps=1e-5))

    def distribution(actor_params, feat):
        out = actor_net.apply(actor_params, feat)
        if discrete:
            # 1% uniform mixture keeps every action's probability, and REINFORCE's
            # log-probabilities, bounded away from 0.
            probs = 0.99 * jax.nn.softmax(out, -1) + 0.01 / n
            return distrax.Categorical(probs=probs)
        mean, raw_std = jnp.split(out, 2, -1)
        std = (1.0 - min_std) * jax.nn.sigmoid(raw_std + 2.0) + min_std
        base = distrax.MultivariateNormalDiag(mean, std)
        return distrax.Transformed(base, distrax.Block(distrax.Tanh(), 1))

    def to_env(unit_action):
        if discrete:
            return unit_action
        return (mid.reshape(-1) + half.reshape(-1) * unit_action).reshape(
            unit_action.shape[:-1] + shape)

    def act(actor_params, feat, key, deterministic=False):
        dist = distribution(actor_params, feat)
        if discrete:
            # A non-finite latent (a diverged model) must still give a valid action:
            # NaN probabilities fall back to uniform, whose mode is action 0.
            probs = dist.probs
            ok = jnp.all(jnp.isfinite(probs), -1, keepdims=True)
            probs = jnp.where(ok, probs, 1.0 / n)
            if deterministic:
                return jnp.argmax(probs, -1).astype(jnp.int32)
            return distrax.Categorical(probs=probs).sample(seed=key).astype(jnp.int32)
        if deterministic:
            unit = jnp.tanh(dist.distribution.loc)
        else:
            # Keep tanh samples off +-1 exactly, where the log-density is infinite.
            unit = jnp.clip(dist.sample(seed=key), -1.0 + 1e-6, 1.0 - 1e-6)
        # NaN would pass through the clip; the centre of the box is a valid action.
        return to_env(jnp.where(jnp.isfinite(unit), unit, 0.0))

    def value(critic_params, feat):
        return twohot_mean(critic_net.apply(critic_params, feat), bins)

    def init(key):
        k_actor, k_critic = jax.random.split(key)
        x = jnp.zeros((feature_dim,), jnp.float32)
        actor = actor_net.init(k_actor, x)
        critic = critic_net.init(k_critic, x)
        return ActorCriticState(actor=actor, critic=critic, slow_critic=critic,
                                actor_opt=actor_tx.init(actor), critic_opt=critic_tx.init(critic),
                                return_scale=jnp.zeros((), jnp.float32))

    def log_prob_and_entropy(actor_params, feat, action):
        dist = distribution(actor_params, feat)
        if discrete:
            return dist.log_prob(action), dist.entropy()
        unit = jnp.clip((action.reshape(action.shape[:-len(shape)] + (dim,)) - mid.reshape(-1))
                        / half.reshape(-1), -1.0 + 1e-6, 1.0 - 1e-6)
        log_prob = dist.log_prob(unit)
        # tanh-Gaussian entropy has no closed form: a one-sample estimate.
        return log_prob, -log_prob

    def rollout(actor_params, model, model_params, starts, key):
        def policy(latent, k):
            return act(actor_params, features(latent), k)

        return imagine(model, model_params, policy, starts, horizon, key)

    def losses(trainable, state, traj_or_inputs, start_weights):
        actor_params, critic_params = trainable
        sg = jax.lax.stop_gradient
        if gradient == "dynamics":
            # The returns must be differentiable in the actor's parameters through the
            # model: imagine inside the differentiated function.
            traj = rollout(actor_params, *traj_or_inputs)
        else:
            traj = traj_or_inputs
        feat = features(traj.latents)                                  # [B, H+1, F]
        values = value(sg(critic_params), feat)                        # [B, H+1]
        step_discount = discount * traj.discounts                      # [B, H]
        returns = lambda_returns(traj.rewards, step_discount, values, lambda_=lambda_)
        weights = sg(jnp.cumprod(jnp.concatenate(
            [start_weights[:, None], step_discount[:, :-1]], 1), 1))   # [B, H]

        flat = sg(returns).reshape(-1)
        spread = jnp.percentile(flat, 95) - jnp.percentile(flat, 5)
        scale = return_decay * state.return_scale + (1 - return_decay) * spread
        norm = jnp.maximum(1.0, scale)

        log_prob, ent = log_prob_and_entropy(actor_params, sg(feat[:, :-1]), sg(traj.actions))
        if gradient == "reinforce":
            advantage = sg((returns - values[:, :-1]) / norm)
            objective = log_prob * advantage
        else:
            objective = returns / norm
        actor_loss = -jnp.mean(weights * (objective + entropy * ent))

        critic_feat = sg(feat[:, :-1])
        logits = critic_net.apply(critic_params, critic_feat)
        slow_values = value(state.slow_critic, critic_feat)
        critic_loss = jnp.mean(weights * (twohot_loss(logits, sg(returns), bins)
                                          + twohot_loss(logits, slow_values, bins)))
        metrics = ActorCriticMetrics(
            actor_loss=actor_loss, critic_loss=critic_loss,
            entropy=jnp.mean(weights * ent) / jnp.mean(weights),
            imagined_return=jnp.mean(returns[:, 0]), value=jnp.mean(values[:, 0]),
            return_scale=scale, actor_grad_norm=jnp.zeros(()))
        return actor_loss + critic_loss, (metrics, scale)

    def update(state: ActorCriticState, model, model_params, start_latents, key,
               start_weights=None):
        batch = jax.tree.leaves(start_latents)[0].shape[0]
        if start_weights is None:
            start_weights = jnp.ones((batch,), jnp.float32)
        model_params = jax.lax.stop_gradient(model_params)
        start_latents = jax.lax.stop_gradient(start_latents)
        inputs = (model, model_params, start_latents, key)
        if gradient == "reinforce":
            # REINFORCE needs no gradient through the rollout: imagine once, outside.
            inputs = jax.lax.stop_gradient(rollout(state.actor, *inputs))
        grads, (metrics, scale) = jax.grad(losses, has_aux=True)(
            (state.actor, state.critic), state, inputs, jnp.asarray(start_weights, jnp.float32))
        actor_updates, actor_opt = actor_tx.update(grads[0], state.actor_opt, state.actor)
        critic_updates, critic_opt = critic_tx.update(grads[1], state.critic_opt, state.critic)
        actor = optax.apply_updates(state.actor, actor_updates)
        critic = optax.apply_updates(state.critic, critic_updates)
        slow = optax.incremental_update(critic, state.slow_critic, 1.0 - slow_decay)
        new_state = ActorCriticState(actor=actor, critic=critic, slow_critic=slow,
                                     actor_opt=actor_opt, critic_opt=critic_opt,
                                     return_scale=scale)
        return new_state, metrics._replace(actor_grad_norm=optax.global_norm(grads[0]))

    config = dict(horizon=horizon, discount=discount, lambda_=lambda_, units=units,
                  layers=layers, entropy=entropy, actor_lr=actor_lr, critic_lr=critic_lr,
                  grad_clip=grad_clip, slow_decay=slow_decay, return_decay=return_decay,
                  gradient=gradient, num_bins=num_bins, min_std=min_std)
    return ActorCritic(init=init, update=update, act=act, value=value,
                       distribution=distribution, config=config)
