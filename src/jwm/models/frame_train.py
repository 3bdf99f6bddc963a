"""Training a `FrameModel` by multi-step prediction on short clips of real frames.

Two predictions of every frame ``o_{t+1}`` of a clip are scored against it:

* teacher-forced: ``decode(step(encode(o_t), a_t))``, one step from each real frame;
* free-running: ``decode(step^(t+1)(encode(o_0), a_0..a_t))``, the latent rolled through
  the real actions without seeing another frame, as a planner uses the model.

The one-step term learns fast and locally; the free-running term teaches the dynamics to
stay on the encoder's manifold over ``K`` steps, so errors compound less when planning.
Each frame costs its Bernoulli negative log-likelihood (nats, summed over pixels); the
reward (squared error) and continue (binary cross-entropy) heads are scored on both
paths. A reconstruction term ``decode(encode(o_0))`` of each clip's first frame keeps
the decoder meaningful on encoded frames too (to draw them); a latent-consistency term
``|z_free - stop_gradient(encode(o))|^2`` is optional (weight 0 by default). Each clip
decodes ``2K + 1`` frames: the decoder is most of the cost.

Clips (`FrameClips`) come from `frame_clips` (windows you already have, such as
``jwm.agents.demonstrations.clips``) or `episode_clips` (every window that starts inside
an episode, its end included). `fit_frame_model` runs ``steps`` Adam updates on random
minibatches of clips as one jitted `lax.scan`, compiled once per (model, steps, batch
size, clip shapes).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jwm.checks import check_int, check_real
from jwm.keys import as_typed_key

__all__ = ["FrameClips", "FrameLossInfo", "episode_clips", "fit_frame_model", "frame_clips",
           "frame_loss", "frame_optimizer", "frame_update"]

_WEIGHTS = ("teacher_weight", "free_weight", "reconstruction_weight", "reward_weight",
            "continue_weight", "latent_weight")
_DEFAULT_WEIGHTS = dict(teacher_weight=1.0, free_weight=1.0, reconstruction_weight=1.0,
                        reward_weight=10.0, continue_weight=10.0, latent_weight=0.0)


class FrameClips(NamedTuple):
    """``B`` clips of ``K`` steps.

    Attributes:
      frames: ``[B, K+1, H, W, C]`` (bool or real) ``o_0 .. o_K``.
      actions: ``[B, K, *action_shape]``, ``a_t`` taken at ``o_t``.
      rewards: ``[B, K]`` float32, the reward of each step.
      continues: ``[B, K]`` float32, 1 where the episode goes on after the step, 0 where
        it terminated.
      active: ``[B, K]`` bool, the step happened inside the episode; later steps and the
        frames they lead to are not scored.
    """

    frames: jax.Array
    actions: jax.Array
    rewards: jax.Array
    continues: jax.Array
    active: jax.Array


class FrameLossInfo(NamedTuple):
    """The loss terms (means over the scored steps of the batch); ``total`` is the
    weighted sum that is minimised. Frame terms are nats per frame."""

    total: jax.Array
    teacher_nll: jax.Array
    free_nll: jax.Array
    reconstruction_nll: jax.Array
    reward_mse: jax.Array
    continue_bce: jax.Array
    latent_mse: jax.Array


def frame_clips(frames, actions, rewards, terminated=None, active=None) -> FrameClips:
    """A checked `FrameClips` (NumPy arrays), filling the optional fields.

    Args:
      frames: ``[B, K+1, *obs_shape]``.
      actions: ``[B, K, *action_shape]``.
      rewards: ``[B, K]``.
      terminated: ``[B, K]`` bool, the episode ended at this step; default none did.
        (``jwm.agents.demonstrations.clips`` returns exactly these four, in this order.)
      active: ``[B, K]`` bool; default every step.

    Raises:
      ValueError: shapes that do not fit together, or no clip.
    """
    frames, actions = np.asarray(frames), np.asarray(actions)
    rewards = np.asarray(rewards, np.float32)
    if rewards.ndim != 2 or 0 in rewards.shape:
        raise ValueError(f"frame_clips: rewards must have shape [B, K] with B, K >= 1, got "
                         f"{rewards.shape}")
    b, k = rewards.shape
    if frames.ndim < 3 or frames.shape[:2] != (b, k + 1):
        raise ValueError(f"frame_clips: frames must have shape [B, K+1, *obs_shape] = "
                         f"{(b, k + 1)} + obs_shape for rewards of shape {(b, k)}, got "
                         f"{frames.shape}")
    if actions.ndim < 2 or actions.shape[:2] != (b, k):
        raise ValueError(f"frame_clips: actions must have shape [B, K, *action_shape] with "
                         f"[B, K] = {(b, k)}, got {actions.shape}")
    fields = {}
    for field, value in (("terminated", terminated), ("active", active)):
        value = np.full((b, k), field == "active") if value is None else np.asarray(value)
        if value.shape != (b, k):
            raise ValueError(f"frame_clips: {field} must have shape [B, K] = {(b, k)}, got "
                             f"{value.shape}")
        fields[field] = value.astype(bool)
    return FrameClips(frames=frames, actions=actions, rewards=rewards,
                      continues=(~fields["terminated"]).astype(np.float32),
                      active=fields["active"])


def episode_clips(observations, actions, rewards, active, terminated=None, *,
                  length: int) -> FrameClips:
    """`FrameClips` of every window of ``length`` steps that starts inside an episode.

    Unlike windows of only active steps (``jwm.agents.demonstrations.clips``), a window
    may run past its episode's end, the later steps masked by ``active``: episodes
    shorter than ``length`` (most random play) still train the model, and every
    termination is seen at every position of a window.

    Args:
      observations: ``[N, T+1, *obs_shape]``, as `jwm.agents.demonstrations` holds them
        (frozen after an episode ends).
      actions: ``[N, T, *action_shape]``; rewards, active: ``[N, T]``.
      terminated: ``[N, T]`` bool, the episode ended at this step; default: the last
        active step of an episode that ends before ``T``.
      length: ``K``, steps per clip (``1 <= K <= T``).

    Returns:
      `FrameClips` of NumPy arrays, one clip per active start step.
    """
    observations, actions = np.asarray(observations), np.asarray(actions)
    rewards, active = np.asarray(rewards, np.float32), np.asarray(active, bool)
    if rewards.ndim != 2 or active.shape != rewards.shape:
        raise ValueError(f"episode_clips: rewards and active must both have shape [N, T], got "
                         f"{rewards.shape} and {active.shape}")
    n, t = rewards.shape
    length = check_int("episode_clips", "length", length)
    if length > t:
        raise ValueError(f"episode_clips: length must be at most T = {t}, got {length}")
    if terminated is None:
        ends = np.concatenate([active[:, 1:], np.zeros((n, 1), bool)], 1)
        terminated = active & ~ends
        terminated[:, -1] = False
    episode, start = np.nonzero(active[:, :t - length + 1])
    span = start[:, None] + np.arange(length)
    pick = lambda x, s: x[episode[:, None], s]
    return frame_clips(pick(observations, np.concatenate([span, span[:, -1:] + 1], 1)),
                       pick(actions, span), pick(rewards, span),
                       pick(np.asarray(terminated, bool), span), pick(active, span))


def frame_loss(model, params, clips: FrameClips, *, teacher_weight=1.0, free_weight=1.0,
               reconstruction_weight=1.0, reward_weight=10.0, continue_weight=10.0,
               latent_weight=0.0):
    """The multi-step prediction loss of ``model`` on a batch of clips.

    Args:
      model: a `FrameModel`.
      params: its parameters.
      clips: `FrameClips` with ``B`` clips of ``K`` steps.
      *_weight: the terms' weights (may be traced). Rewards and continues are weighted
        more than a frame's NLL by default: a frame holds hundreds of pixels, while a
        planner lives on the two heads.

    Returns:
      ``(total, FrameLossInfo)``.
    """
    _check_clips("frame_loss", model, clips)
    frames = jnp.asarray(clips.frames, jnp.float32)
    actions = model.encode_action(clips.actions)
    active = jnp.asarray(clips.active, jnp.float32)
    # A free-running prediction counts while every step before it happened.
    alive = jnp.cumprod(active, axis=1)
    k = actions.shape[1]

    z = model.embed(params, frames)
    z_teacher, r_teacher, c_teacher = model.transition(params, z[:, :-1], actions)

    def roll(latent, a_t):
        out = model.transition(params, latent, a_t)
        return out[0], out

    _, free = jax.lax.scan(roll, z[:, 0], jnp.swapaxes(actions, 0, 1))
    z_free, r_free, c_free = (jnp.swapaxes(x, 0, 1) for x in free)

    # One decoder call for every prediction: [B, 1 + K + K, H, W, C].
    logits = model.decode_logits(params, jnp.concatenate([z[:, :1], z_teacher, z_free], 1))
    nll = optax.sigmoid_binary_cross_entropy(
        logits, jnp.concatenate([frames[:, :1], frames[:, 1:], frames[:, 1:]], 1))
    nll = nll.sum((-3, -2, -1))
    recon_nll = nll[:, 0].mean()
    teacher_nll = _masked_mean(nll[:, 1:k + 1], active)
    free_nll = _masked_mean(nll[:, k + 1:], alive)

    rewards = jnp.asarray(clips.rewards, jnp.float32)
    continues = jnp.asarray(clips.continues, jnp.float32)
    reward_mse = 0.5 * (_masked_mean((r_teacher - rewards) ** 2, active)
                        + _masked_mean((r_free - rewards) ** 2, alive))
    continue_bce = 0.5 * (
        _masked_mean(optax.sigmoid_binary_cross_entropy(c_teacher, continues), active)
        + _masked_mean(optax.sigmoid_binary_cross_entropy(c_free, continues), alive))
    latent_mse = _masked_mean(
        jnp.mean((z_free - jax.lax.stop_gradient(z[:, 1:])) ** 2, -1), alive)

    total = (teacher_weight * teacher_nll + free_weight * free_nll
             + reconstruction_weight * recon_nll + reward_weight * reward_mse
             + continue_weight * continue_bce + latent_weight * latent_mse)
    return total, FrameLossInfo(total=total, teacher_nll=teacher_nll, free_nll=free_nll,
                                reconstruction_nll=recon_nll, reward_mse=reward_mse,
                                continue_bce=continue_bce, latent_mse=latent_mse)


def frame_optimizer(learning_rate=1e-3, max_grad_norm=100.0) -> optax.GradientTransformation:
    """Adam after clipping the global gradient norm (both may be traced)."""
    check_real("frame_optimizer", "learning_rate", learning_rate, low=0.0, low_open=True)
    check_real("frame_optimizer", "max_grad_norm", max_grad_norm, low=0.0, low_open=True)
    return optax.chain(optax.clip_by_global_norm(max_grad_norm), optax.adam(learning_rate))


def frame_update(model, optimizer, params, opt_state, clips: FrameClips, **weights):
    """One gradient step on a batch of clips.

    Returns:
      ``(params, opt_state, FrameLossInfo)`` (the info before the update).
    """
    grad_fn = jax.grad(lambda p: frame_loss(model, p, clips, **weights), has_aux=True)
    grads, info = grad_fn(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, info


def fit_frame_model(model, params, clips: FrameClips, key, *, steps: int,
                    batch_size: int = 32, learning_rate=1e-3, max_grad_norm=100.0,
                    progress: Callable[[Any], None] | None = None, **weights):
    """Trains ``model`` on ``clips`` with ``steps`` Adam updates as one jitted scan.

    Each step draws ``batch_size`` clips uniformly with replacement. A fresh optimiser
    state is made per call; ``params`` are warm-started.

    Args:
      model: a `FrameModel`.
      params: its parameters.
      clips: `FrameClips` of ``M`` clips (see `frame_clips`).
      key: PRNG key, typed or legacy (minibatch draws).
      steps, batch_size: static ints.
      learning_rate, max_grad_norm: Adam's step size and the gradient-norm clip; may be
        traced.
      progress: optional host callback ``progress(step_index)`` after every step (for
        progress bars); part of the compiled program, so pass the same function object
        to reuse it.
      weights: the loss weights of `frame_loss` (``teacher_weight``, ``free_weight``,
        ``reconstruction_weight``, ``reward_weight``, ``continue_weight``,
        ``latent_weight``); may be traced.

    Returns:
      ``(params, FrameLossInfo)`` whose fields are ``[steps]``, each step's minibatch
      loss before its update.
    """
    name = "fit_frame_model"
    steps = check_int(name, "steps", steps)
    batch_size = check_int(name, "batch_size", batch_size)
    unknown = sorted(set(weights) - set(_WEIGHTS))
    if unknown:
        raise TypeError(f"{name}: unknown loss weights {unknown}; known: {list(_WEIGHTS)}")
    weights = {**_DEFAULT_WEIGHTS, **weights}
    for field, value in weights.items():
        check_real(name, field, value, low=0.0)
    check_real(name, "learning_rate", learning_rate, low=0.0, low_open=True)
    check_real(name, "max_grad_norm", max_grad_norm, low=0.0, low_open=True)
    if not isinstance(clips, FrameClips):
        raise TypeError(f"{name}: clips must be a FrameClips (see frame_clips), got "
                        f"{type(clips).__name__}")
    _check_clips(name, model, clips)
    key = as_typed_key(key, where=name)
    if progress is not None and not callable(progress):
        raise TypeError(f"{name}: progress must be callable or None, got {progress!r}")
    return _fit(model, steps, batch_size, progress, params, clips, key, learning_rate,
                max_grad_norm, weights)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _fit(model, steps, batch_size, progress, params, clips, key, learning_rate, max_grad_norm,
         weights):
    optimizer = frame_optimizer(learning_rate, max_grad_norm)
    count = clips.rewards.shape[0]

    def body(carry, xs):
        params, opt_state = carry
        i, k = xs
        rows = jax.random.randint(k, (batch_size,), 0, count)
        batch = jax.tree.map(lambda x: x[rows], clips)
        params, opt_state, info = frame_update(model, optimizer, params, opt_state, batch,
                                               **weights)
        if progress is not None:
            jax.debug.callback(progress, i)
        return (params, opt_state), info

    (params, _), info = jax.lax.scan(body, (params, optimizer.init(params)),
                                     (jnp.arange(steps), jax.random.split(key, steps)))
    return params, info


def _masked_mean(x, mask):
    return (x * mask).sum() / jnp.maximum(mask.sum(), 1.0)


def _check_clips(where, model, clips):
    """Shapes against the model's (static, so checked once at trace time)."""
    for field in ("embed", "transition", "decode_logits", "encode_action"):
        if not callable(getattr(model, field, None)):
            raise TypeError(f"{where}: model must be a FrameModel (from frame_model), got "
                            f"{type(model).__name__}")
    rewards = clips.rewards
    if np.ndim(rewards) != 2 or 0 in np.shape(rewards):
        raise ValueError(f"{where}: clips.rewards must have shape [B, K] with B, K >= 1, got "
                         f"{np.shape(rewards)}")
    b, k = np.shape(rewards)
    expected = {"frames": (b, k + 1) + tuple(model.obs_shape),
                "actions": (b, k) + tuple(model.action_shape),
                "continues": (b, k), "active": (b, k)}
    for field, shape in expected.items():
        got = tuple(np.shape(getattr(clips, field)))
        if got != shape:
            raise ValueError(f"{where}: clips.{field} must have shape {shape} (clips.rewards "
                             f"is [B, K] = {(b, k)}; the model's obs_shape "
                             f"{tuple(model.obs_shape)}, action_shape "
                             f"{tuple(model.action_shape)}), got {got}")
