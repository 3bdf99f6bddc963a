"""An inverse-dynamics model: the action ``a_t`` that took ``frame_t`` to
``frame_{t+1}``, so that a generated video can be turned into actions (UniPi).

A small CNN reads both frames and their difference (stacked as channels; in Breakout
the action shows only as the paddle's one-pixel move, which the difference isolates):
two 3x3 convolutions (`PatchConv`), the second with stride 2, then an MLP. Discrete actions are
classified (cross-entropy), Box actions regressed (squared error on actions scaled to
[-1, 1] when the box is bounded).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jwm.checks import check_int
from jwm.keys import with_typed_key
from jwm.models.checks import check_shape
from jwm.models.minibatch import fit_minibatches
from jwm.models.video_diffusion import batch_of, image_bounds
from jwm.models.video_unet import PatchConv

__all__ = ["InverseDynamics", "inverse_dynamics", "fit_inverse_dynamics"]


class _InverseDynamicsNet(nn.Module):
    """``(frames [B, H, W, C], next_frames [B, H, W, C]) -> [B, out]`` on [-1, 1] images."""

    out: int
    channels: int
    hidden: int

    @nn.compact
    def __call__(self, frames, next_frames):
        x = jnp.concatenate([frames, next_frames, next_frames - frames], -1)
        x = nn.silu(PatchConv(self.channels)(x))
        # Stride 2 as every other output of a stride-1 convolution (PatchConv has no
        # strides): the 10x10 frame's 5x5 summary keeps where the paddle is.
        x = nn.silu(PatchConv(self.channels)(x))[:, ::2, ::2]
        x = nn.silu(nn.LayerNorm()(nn.Dense(self.hidden)(x.reshape(x.shape[0], -1))))
        return nn.Dense(self.out)(x)


@dataclasses.dataclass(frozen=True)
class InverseDynamics:
    """An inverse-dynamics model as pure functions.

    Attributes:
      init: ``init(key) -> params``.
      predict: ``predict(params, frame [H, W, C], next_frame [H, W, C])`` -> logits
        ``[n]`` (Discrete(n)) or the mean action ``[*action_shape]`` (Box, in the box's
        units, not clipped); one pair, vmap for batches.
      act: ``act(params, frame, next_frame)`` -> the argmax action (int32) or the mean
        action clipped to the box.
      loss: ``loss(params, frames [B, H, W, C], next_frames [B, H, W, C], actions [B,
        *action_shape], key=None) -> (scalar, metrics)`` (``key`` is ignored): mean
        cross-entropy, with ``metrics["accuracy"]`` (fraction of argmax hits); or the
        mean squared error of the scaled action, with ``metrics["mse"]`` in the box's
        units.
      observation_shape, action_shape: ``(H, W, C)`` and ``()`` or the Box's shape.
      num_actions: ``n`` for Discrete(n), None for a Box.
      net: the flax module.
    """

    init: Callable
    predict: Callable
    act: Callable
    loss: Callable
    observation_shape: tuple
    action_shape: tuple
    num_actions: int | None
    net: Any = dataclasses.field(default=None, compare=False)


def inverse_dynamics(observation_space, action_space, *, channels: int = 32,
                     hidden: int = 128) -> InverseDynamics:
    """Builds an `InverseDynamics` model.

    Args:
      observation_space: a `Box` of images ``[H, W, C]`` with finite bounds.
      action_space: `Discrete` (a classifier) or a floating `Box` (a regressor).
      channels: width of the two convolutions.
      hidden: width of the MLP's hidden layer.

    ``predict``, ``act`` and ``loss`` raise ValueError for frames or actions of the
    wrong shape.
    """
    name = "inverse_dynamics"
    channels = check_int(name, "channels", channels)
    hidden = check_int(name, "hidden", hidden)
    obs_shape, to_signed, _ = image_bounds(name, observation_space)
    discrete = hasattr(action_space, "n")
    if discrete:
        action_shape, out = (), int(action_space.n)
        mid, half = 0.0, 1.0
    elif hasattr(action_space, "low") and np.issubdtype(np.dtype(action_space.dtype),
                                                        np.floating):
        action_shape, out = tuple(action_space.shape), int(np.prod(action_space.shape))
        low, high = np.asarray(action_space.low), np.asarray(action_space.high)
        bounded = np.isfinite(low).all() and np.isfinite(high).all()
        # An unbounded box is regressed as it is; a bounded one on [-1, 1].
        mid = ((high + low) / 2 if bounded else np.zeros(action_shape)).astype(np.float32)
        half = (np.maximum((high - low) / 2, 1e-6) if bounded
                else np.ones(action_shape)).astype(np.float32)
    else:
        raise TypeError(f"{name}: action_space must be a jwm.spaces.Discrete or a floating "
                        f"Box, got {action_space!r}")
    net = _InverseDynamicsNet(out=out, channels=channels, hidden=hidden)

    def forward(params, frames, next_frames):
        raw = net.apply(params, to_signed(frames), to_signed(next_frames))
        return raw if discrete else raw.reshape((-1,) + action_shape) * half + mid

    def init(key):
        zeros = jnp.zeros((1,) + obs_shape, jnp.float32)
        return net.init(key, zeros, zeros)

    def predict(params, frame, next_frame):
        for arg, value in (("frame", frame), ("next_frame", next_frame)):
            check_shape(f"{name}.predict", arg, value, obs_shape)
        return forward(params, frame[None], next_frame[None])[0]

    def act(params, frame, next_frame):
        out_ = predict(params, frame, next_frame)
        if discrete:
            return jnp.argmax(out_).astype(jnp.int32)
        return jnp.clip(out_, action_space.low, action_space.high)

    def loss(params, frames, next_frames, actions, key=None):
        del key  # deterministic; the slot lets fit_minibatches pass one
        where = f"{name}.loss"
        b = batch_of(where, frames, obs_shape)
        check_shape(where, "next_frames", next_frames, obs_shape, lead=(b,))
        check_shape(where, "actions", actions, action_shape, lead=(b,))
        pred = forward(params, frames, next_frames)
        if discrete:
            value = optax.softmax_cross_entropy_with_integer_labels(
                pred, jnp.asarray(actions, jnp.int32)).mean()
            hits = jnp.argmax(pred, -1) == actions
            return value, {"loss": value, "accuracy": hits.mean()}
        err = pred - jnp.asarray(actions, jnp.float32)
        value = jnp.mean((err / half) ** 2)
        return value, {"loss": value, "mse": jax.lax.stop_gradient(jnp.mean(err ** 2))}

    return InverseDynamics(init=with_typed_key(init, 0, where=f"{name}.init"), predict=predict,
                           act=act, loss=loss, observation_shape=obs_shape,
                           action_shape=action_shape, num_actions=out if discrete else None,
                           net=net)


def fit_inverse_dynamics(model: InverseDynamics, params, frames, next_frames, actions, key, *,
                         steps: int, batch_size: int, learning_rate: float):
    """Trains ``model`` by `InverseDynamics.loss` on ``N`` transitions: ``steps`` Adam
    steps on minibatches drawn with replacement, as one jitted ``lax.scan``
    (`jwm.models.minibatch.fit_minibatches`).

    Args:
      model: an `InverseDynamics`.
      params: its parameters (warm start; a fresh optimiser state per call).
      frames, next_frames: ``[N, H, W, C]``.
      actions: ``[N, *action_shape]`` (int for Discrete).
      key: PRNG key, typed or legacy (minibatches).
      steps, batch_size: static ints >= 1.
      learning_rate: Adam's step size > 0 (traced: changing it does not recompile).

    Returns:
      ``(params, losses [steps])``. Compiles once per model, data shapes, ``steps`` and
      ``batch_size``.
    """
    where = "fit_inverse_dynamics"
    if not isinstance(model, InverseDynamics):
        raise TypeError(f"{where}: model must be an InverseDynamics, got {type(model).__name__}")
    n = batch_of(where, frames, model.observation_shape)
    check_shape(where, "next_frames", next_frames, model.observation_shape, lead=(n,))
    check_shape(where, "actions", actions, model.action_shape, lead=(n,))
    return fit_minibatches(model.loss, params, (frames, next_frames, actions), key, steps=steps,
                           batch_size=batch_size, learning_rate=learning_rate, where=where)
