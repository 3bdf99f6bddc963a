"""MuZero's training targets and its K-step unrolled loss.

A replayed sequence holds ``L >= K + n + 1`` consecutive rows of self-play; row ``t``
is an observation, the action taken from it, the reward of that action, whether the
episode terminated or was truncated right after it, and the search policy at it. The
row after an episode's last row starts the next episode, so targets must stop at the
first end inside the sequence:

- **value** at unroll step ``k``: the n-step return ``sum_i discount^i r[k+i] +
  discount^m V[k+m]`` with ``V`` the bootstrap values (a target network's), cut at the
  episode's end: after a termination the tail is 0; at a truncation the return stops
  one row early and bootstraps from the last row's value (a shorter n-step return,
  because the state after the cut is not stored). Past a termination the target is 0
  (an absorbing state, so the learned model predicts no value there); past a
  truncation it is masked.
- **reward** at unroll step ``k >= 1``: the reward of row ``k - 1``; 0 past a
  termination, masked past a truncation.
- **policy** at unroll step ``k``: the search policy of row ``k``; masked past the end.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jwm.models.twohot import twohot_loss, value_transform
from jwm.records import record_repr

__all__ = ["UnrollTargets", "MuZeroLossMetrics", "unroll_targets", "n_step_values",
           "unroll_loss"]


class UnrollTargets(NamedTuple):
    """Targets of one ``K``-step unroll (add a leading batch axis for a batch).

    Attributes:
      actions: ``[K]`` int32, the actions replayed through the dynamics.
      policy: ``[K + 1, A]`` search policies; ``policy_weight`` ``[K + 1]`` 1 or 0.
      value: ``[K + 1]`` n-step returns; ``value_weight`` ``[K + 1]``.
      reward: ``[K]`` rewards of unroll steps 1..K; ``reward_weight`` ``[K]``.
    """

    actions: jax.Array
    policy: jax.Array
    policy_weight: jax.Array
    value: jax.Array
    value_weight: jax.Array
    reward: jax.Array
    reward_weight: jax.Array

    __repr__ = record_repr


class MuZeroLossMetrics(NamedTuple):
    """Batch means of the loss terms (before the 1/K scaling) and the new priorities.

    Attributes:
      loss: the total loss that was differentiated.
      policy_loss, value_loss, reward_loss: cross-entropies, averaged over unroll
        steps and the batch.
      value_error: mean ``|predicted value - target|`` at the first step.
      priorities: ``[B]`` ``|predicted value - target|`` at the first step, for
        prioritised replay.
    """

    loss: jax.Array
    policy_loss: jax.Array
    value_loss: jax.Array
    reward_loss: jax.Array
    value_error: jax.Array
    priorities: jax.Array

    __repr__ = record_repr


def _episode_masks(terminated, truncated, num_steps):
    """``(inside [num_steps], absorbed [num_steps])``: row ``k`` belongs to row 0's
    episode; row ``k`` lies past a termination of row 0's episode."""
    done = terminated | truncated
    ended_before = jnp.concatenate([jnp.zeros((1,), bool), jnp.cumsum(done[:-1]) > 0])
    # How row 0's episode ended: by its first end, termination or truncation.
    first_end = jnp.argmax(done)
    terminated_end = done.any() & terminated[first_end]
    inside = ~ended_before[:num_steps]
    return inside, ended_before[:num_steps] & terminated_end


def n_step_values(reward, terminated, truncated, bootstrap, *, discount, n_step: int,
                  num_targets: int):
    """``[num_targets]`` n-step returns of rows ``0..num_targets-1`` of one sequence.

    Args:
      reward, terminated, truncated: ``[L]`` per row, ``L >= num_targets + n_step``.
      bootstrap: ``[L]`` value estimates of each row's observation.
      discount: scalar (traceable).
      n_step: static int >= 1.
      num_targets: static int, ``K + 1``.

    Row ``k``'s return is cut at the first end at or after ``k`` (see the module
    docstring); it reads only rows of ``k``'s own episode.
    """
    length = reward.shape[0]
    if length < num_targets + n_step:
        raise ValueError(f"n_step_values: sequences of {length} rows are too short for "
                         f"{num_targets} targets of {n_step}-step returns")
    done = terminated | truncated
    offsets = jnp.arange(n_step)
    powers = discount ** offsets.astype(jnp.float32)

    def one(k):
        rows = k + offsets
        window_done = done[rows]
        ended_before = jnp.concatenate([jnp.zeros((1,), bool), jnp.cumsum(window_done[:-1]) > 0])
        cut_here = truncated[rows] & ~terminated[rows]
        counted = ~ended_before & ~cut_here
        partial = jnp.sum(jnp.where(counted, powers * reward[rows], 0.0))
        any_end = window_done.any()
        first = jnp.argmax(window_done)
        boot_row = jnp.where(any_end, k + first, k + n_step)
        boot_power = jnp.where(any_end, first, n_step).astype(jnp.float32)
        boot_on = jnp.where(any_end, cut_here[first], True)
        return partial + jnp.where(boot_on, discount ** boot_power * bootstrap[boot_row], 0.0)

    return jax.vmap(one)(jnp.arange(num_targets))


def unroll_targets(action, reward, terminated, truncated, search_policy, bootstrap, *,
                   discount, n_step: int, unroll_steps: int) -> UnrollTargets:
    """The `UnrollTargets` of one sequence of ``L >= unroll_steps + n_step + 1`` rows
    (``action``, ``reward``, ``terminated``, ``truncated``, ``bootstrap``: ``[L]``;
    ``search_policy``: ``[L, A]``)."""
    k1 = unroll_steps + 1
    inside, absorbed = _episode_masks(terminated, truncated, k1)
    values = n_step_values(reward, terminated, truncated, bootstrap, discount=discount,
                           n_step=n_step, num_targets=k1)
    value_weight = (inside | absorbed).astype(jnp.float32)
    return UnrollTargets(
        actions=action[:unroll_steps].astype(jnp.int32),
        policy=search_policy[:k1],
        policy_weight=inside.astype(jnp.float32),
        value=jnp.where(inside, values, 0.0),
        value_weight=value_weight,
        reward=jnp.where(inside[:-1], reward[:unroll_steps], 0.0),
        reward_weight=value_weight[:-1])


def _scale_gradient(x, scale):
    """``x`` forward; its gradient multiplied by ``scale`` backward."""
    return x * scale + jax.lax.stop_gradient(x) * (1.0 - scale)


def unroll_loss(model, params, obs, targets: UnrollTargets, *, value_coef=0.25,
                importance_weights=None):
    """MuZero's loss on a batch: ``(loss, MuZeroLossMetrics)``.

    Args:
      model: a `MuZeroModel`.
      params: its parameters.
      obs: ``[B, *obs_shape]``, the first observation of each sequence.
      targets: `UnrollTargets` with a leading ``[B]`` axis (``K`` from its shapes; 0
        trains the prediction network alone).
      value_coef: weight of the value cross-entropy (0.25, as in MuZero Reanalyse).
      importance_weights: ``[B]`` prioritised-replay corrections, or None (all 1).

    The first step's terms count fully, those of unroll steps 1..K are scaled by
    ``1/K``, and the gradient entering the dynamics from each later step is halved
    (Schrittwieser et al., 2020, appendix G), so the total gradient on the dynamics
    stays the same whatever K.
    """
    num_unroll = targets.actions.shape[-1]
    batch = targets.actions.shape[0]
    weights = jnp.ones((batch,)) if importance_weights is None else importance_weights

    def terms(latent, k):
        policy_logits, value_logits = model.predict(params, latent)
        policy_ce = -jnp.sum(targets.policy[:, k] * jax.nn.log_softmax(policy_logits), -1)
        value_ce = twohot_loss(value_logits, targets.value[:, k], model.bins,
                               squash=value_transform)
        return (policy_ce * targets.policy_weight[:, k],
                value_ce * targets.value_weight[:, k], value_logits)

    latent = model.represent(params, obs)
    policy_0, value_0, value_logits_0 = terms(latent, 0)

    def body(latent, k):
        latent, reward_logits = model.recurrent(params, latent, targets.actions[:, k])
        reward_ce = twohot_loss(reward_logits, targets.reward[:, k], model.bins,
                                squash=value_transform) * targets.reward_weight[:, k]
        policy_k, value_k, _ = terms(latent, k + 1)
        return _scale_gradient(latent, 0.5), (policy_k, value_k, reward_ce)

    per_sample = policy_0 + value_coef * value_0
    policy_sum, value_sum, reward_mean = policy_0.mean(), value_0.mean(), jnp.zeros(())
    if num_unroll:  # K = 0: AlphaZero, only the prediction network learns
        _, (policy_k, value_k, reward_k) = jax.lax.scan(body, latent, jnp.arange(num_unroll))
        per_sample = per_sample + (policy_k.sum(0) + value_coef * value_k.sum(0)
                                   + reward_k.sum(0)) / num_unroll
        policy_sum = policy_sum + policy_k.sum(0).mean()
        value_sum = value_sum + value_k.sum(0).mean()
        reward_mean = reward_k.sum(0).mean() / num_unroll
    loss = jnp.mean(weights * per_sample)
    error = jnp.abs(model.scalar(value_logits_0) - targets.value[:, 0])
    steps = num_unroll + 1
    metrics = MuZeroLossMetrics(
        loss=loss, policy_loss=policy_sum / steps, value_loss=value_sum / steps,
        reward_loss=reward_mean, value_error=error.mean(),
        priorities=jax.lax.stop_gradient(error))
    return loss, metrics
