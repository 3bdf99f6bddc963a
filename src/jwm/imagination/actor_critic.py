"""Dreamer's actor-critic, learned purely in imagination (Hafner et al., 2020; 2023).

From a batch of start latents, the actor is rolled out inside the world model for
``horizon`` steps (`imagine`); the critic scores every imagined state; lambda-returns
mix the imagined rewards with the critic's values. Then

- the **critic** (two-hot over symlog bins) regresses the lambda-returns and is pulled
  towards a slow EMA copy of itself (``target_critic``, step ``target_tau``), which
  steadies its own targets;
- the **actor** maximises the returns, scaled by ``max(1, S)`` where ``S`` is an EMA
  (step ``scale_rate``) of the 5th-95th percentile range of the returns (so sparse
  and dense rewards get the same entropy trade-off), plus an entropy bonus.
  Continuous actions take the analytic gradient through the model's dynamics
  (reparameterised tanh-Gaussian); discrete ones use REINFORCE with the critic as
  baseline.

Every imagined step is weighted by the model's cumulative discount, so nothing after
an imagined termination is learned from. The learner is a `jwm.imagination.Learner`,
the interface it shares with `jwm.imagination.value_gradient`; so are the
tanh-Gaussian head, the return scale, the target critic's EMA and the knob checks
(`jwm.imagination.core`), and the networks (`jwm.models.layers.NormMLP`).
"""

from __future__ import annotations

from typing import Any, Callable

import distrax
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jwm.imagination.core import (apply_gradients, check_int, check_knobs, clipped_adam,
                                  init_state, reach_weights, return_divisor,
                                  return_spread_ema, tanh_gaussian)
from jwm.imagination.learner import Learner, LearnerMetrics, LearnerState, make_learner
from jwm.imagination.returns import lambda_returns
from jwm.imagination.rollout import imagine
from jwm.models.layers import NormMLP
from jwm.models.twohot import twohot_bins, twohot_loss, twohot_mean

__all__ = ["GRADIENTS", "actor_critic"]

GRADIENTS = ("auto", "dynamics", "reinforce")


def actor_critic(features: Callable[[Any], jax.Array], feature_dim: int, action_space, *,
                 horizon: int = 15, discount: float = 0.99, lambda_: float = 0.95,
                 actor_hidden_sizes=(64, 64), critic_hidden_sizes=(64, 64),
                 entropy_coef: float = 3e-4, actor_lr: float = 1e-4, critic_lr: float = 1e-4,
                 grad_clip: float = 100.0, target_tau: float = 0.02, scale_rate: float = 0.01,
                 gradient: str = "auto", num_bins: int = 255,
                 min_std: float = 0.1) -> Learner:
    """Builds Dreamer's actor-critic over a model's latent features.

    The knobs shared with `value_gradient` are checked by
    `jwm.imagination.core.check_knobs`. The `Learner`'s input is the latent's
    features (``inputs`` is ``features``), and it imagines in whatever model its
    ``update`` is given (``model`` is None).

    Args:
      features: ``features(latent) -> [..., F]``, e.g. ``RSSMModel.features``.
      feature_dim: ``F``.
      action_space: a `Discrete` or bounded `Box`.
      horizon: imagined steps per update.
      discount: per-step discount, multiplied with the model's continue probability.
      lambda_: lambda of the returns.
      actor_hidden_sizes, critic_hidden_sizes: hidden widths of the actor's and the
        critic's MLPs (Dense, LayerNorm, SiLU per layer).
      entropy_coef: weight of the entropy bonus.
      actor_lr, critic_lr: Adam learning rates; grad_clip: global-norm clip.
      target_tau: EMA step size per update of the slow critic that regularises the
        critic; scale_rate: EMA step size of the return spread.
      gradient: ``"dynamics"`` (backpropagate through the model), ``"reinforce"``, or
        ``"auto"`` (dynamics for a Box, reinforce for Discrete).
      num_bins: two-hot bins of the critic.
      min_std: floor of the Gaussian policy's standard deviation (before tanh); the
        std is ``(1 - min_std) sigmoid(raw + 2) + min_std``.

    Returns:
      a `Learner` whose ``act`` reads features ``[..., F]``: for a `Box`, a
      tanh-Gaussian sample kept ``1e-6`` inside the bounds, or the mode; for a
      `Discrete` space, a draw from the softmax mixed with 1% uniform, or its argmax.
    """
    config = dict(locals())             # first, while only the arguments are bound
    for arg in ("features", "feature_dim", "action_space"):
        del config[arg]                 # the rest are the knobs
    name = "actor_critic"
    config = check_knobs(name, config)
    horizon = config["horizon"]
    check_int(name, "feature_dim", feature_dim)
    check_int(name, "num_bins", num_bins)
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
        actor_net = NormMLP(config["actor_hidden_sizes"], None, n)
    else:
        head = tanh_gaussian(name, action_space, std="sigmoid", min_std=min_std)
        actor_net = NormMLP(config["actor_hidden_sizes"], None, head.out_dim)
    critic_net = NormMLP(config["critic_hidden_sizes"], None, num_bins, zero_out=True)
    bins = twohot_bins(num_bins)
    actor_tx = clipped_adam(actor_lr, grad_clip, eps=1e-5)
    critic_tx = clipped_adam(critic_lr, grad_clip, eps=1e-5)

    def distribution(actor_params, inputs):
        out = actor_net.apply(actor_params, inputs)
        if discrete:
            # 1% uniform mixture keeps every action's probability, and REINFORCE's
            # log-probabilities, bounded away from 0.
            probs = 0.99 * jax.nn.softmax(out, -1) + 0.01 / n
            return distrax.Categorical(probs=probs)
        return head.distribution(out)

    def act(actor_params, inputs, key, deterministic=False):
        dist = distribution(actor_params, inputs)
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
            return head.to_box(head.mode(dist))
        # Keep tanh samples off +-1 exactly, where the log-density is infinite.
        return head.to_box(jnp.clip(dist.sample(seed=key), -1.0 + 1e-6, 1.0 - 1e-6))

    def value(critic_params, inputs):
        return twohot_mean(critic_net.apply(critic_params, inputs), bins)

    def init(key):
        return init_state(key, actor_net, critic_net, feature_dim, actor_tx, critic_tx, 0.0)

    def log_prob_and_entropy(actor_params, feat, action):
        dist = distribution(actor_params, feat)
        if discrete:
            return dist.log_prob(action), dist.entropy()
        log_prob = dist.log_prob(head.from_box(action))
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
        critic_feat = sg(feat[:, :-1])
        if gradient == "reinforce":
            # The trajectory is a constant: one pass of the critic gives both the
            # values the returns bootstrap from and the logits it learns with.
            all_logits = critic_net.apply(critic_params, feat)          # [B, H+1, K]
            values = sg(twohot_mean(all_logits, bins))                 # [B, H+1]
            logits = all_logits[:, :-1]
        else:
            # The returns are differentiated through ``feat`` (not the critic's
            # parameters); the critic learns on the features as constants.
            values = value(sg(critic_params), feat)
            logits = critic_net.apply(critic_params, critic_feat)
        step_discount = discount * traj.discounts                      # [B, H]
        returns = lambda_returns(traj.rewards, step_discount, values, lambda_=lambda_)
        weights = reach_weights(step_discount, start_weights)          # [B, H]

        # The divisor includes this batch's spread (value_gradient's lags one update).
        scale = return_spread_ema(state.return_scale, returns, scale_rate)
        norm = return_divisor(scale)

        log_prob, ent = log_prob_and_entropy(actor_params, sg(feat[:, :-1]), sg(traj.actions))
        if gradient == "reinforce":
            advantage = sg((returns - values[:, :-1]) / norm)
            objective = log_prob * advantage
        else:
            objective = returns / norm
        actor_loss = -jnp.mean(weights * (objective + entropy_coef * ent))

        slow_values = value(state.target_critic, critic_feat)
        critic_loss = jnp.mean(weights * (twohot_loss(logits, sg(returns), bins)
                                          + twohot_loss(logits, slow_values, bins)))
        metrics = LearnerMetrics(
            actor_loss=actor_loss, critic_loss=critic_loss,
            imagined_return=jnp.mean(returns[:, 0]),
            entropy=jnp.mean(weights * ent) / jnp.mean(weights),
            value=jnp.mean(values[:, 0]), return_scale=scale,
            actor_grad_norm=jnp.zeros(()), critic_grad_norm=jnp.zeros(()),
            last_latents=jax.tree.map(lambda x: x[:, -1], traj.latents))
        return actor_loss + critic_loss, (metrics, scale)

    def losses_inputs(actor_params, model, model_params, start_latents, key, start_weights):
        """What `losses` reads besides the networks: the rollout's arguments for the
        dynamics gradient (it imagines inside the differentiated function), the
        trajectory itself for REINFORCE; and the starts' weights ``[B]``."""
        batch = jax.tree.leaves(start_latents)[0].shape[0]
        if start_weights is None:
            start_weights = jnp.ones((batch,), jnp.float32)
        model_params = jax.lax.stop_gradient(model_params)
        start_latents = jax.lax.stop_gradient(start_latents)
        inputs = (model, model_params, start_latents, key)
        if gradient == "reinforce":
            # REINFORCE needs no gradient through the rollout: imagine once, outside.
            inputs = jax.lax.stop_gradient(rollout(actor_params, *inputs))
        return inputs, jnp.asarray(start_weights, jnp.float32)

    def update(state: LearnerState, model, model_params, start_latents, key,
               start_weights=None):
        inputs, weights = losses_inputs(state.actor, model, model_params, start_latents, key,
                                        start_weights)
        grads, (metrics, scale) = jax.grad(losses, has_aux=True)(
            (state.actor, state.critic), state, inputs, weights)
        new_state = apply_gradients(state, grads[0], grads[1], actor_tx, critic_tx,
                                    target_tau=target_tau, return_scale=scale)
        return new_state, metrics._replace(actor_grad_norm=optax.global_norm(grads[0]),
                                           critic_grad_norm=optax.global_norm(grads[1]))

    def actor_loss(actor_params, state: LearnerState, model, model_params, start_latents,
                   key, start_weights=None):
        # The critic's loss does not depend on the actor's parameters, so the gradient
        # of the actor's part alone is the actor's step of `update`.
        inputs, weights = losses_inputs(actor_params, model, model_params, start_latents,
                                        key, start_weights)
        _, (metrics, _) = losses((actor_params, state.critic), state, inputs, weights)
        return metrics.actor_loss

    config["gradient"] = gradient
    return make_learner(name, init=init, update=update, act=act, value=value,
                        distribution=distribution, actor_loss=actor_loss, inputs=features,
                        model=None, config=config)
