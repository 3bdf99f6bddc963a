"""An inverse-dynamics model: the action ``a_t`` that took ``frame_t`` to
``frame_{t+1}``, so that a generated video can be turned into actions (UniPi).

A small CNN (`jwm.models.action_readout.FrameReader`) reads both frames and their
difference, stacked as channels. Discrete actions are classified (cross-entropy), Box
actions regressed (squared error on actions scaled to [-1, 1] when the box is
bounded).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax.numpy as jnp

from jwm.checks import check_fields, check_int
from jwm.keys import with_typed_key
from jwm.models.action_readout import FrameReader, action_coding
from jwm.models.checks import check_shape
from jwm.models.minibatch import fit_minibatches
from jwm.models.net_init import net_init
from jwm.models.video_diffusion import batch_of, image_bounds

__all__ = ["InverseDynamics", "inverse_dynamics", "fit_inverse_dynamics"]


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
      obs_shape, action_shape: ``(H, W, C)`` and ``()`` or the Box's shape.
      num_actions: ``n`` for Discrete(n), None for a Box.
      net: the flax module.
    """

    init: Callable
    predict: Callable
    act: Callable
    loss: Callable
    obs_shape: tuple
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
    coding = action_coding(name, action_space)
    net = FrameReader(out=coding.size, channels=channels, hidden=hidden)

    def forward(params, frames, next_frames):
        # Both frames and their difference, stacked as channels: in Breakout the action
        # shows only as the paddle's one-pixel move, which the difference isolates.
        frames, next_frames = to_signed(frames), to_signed(next_frames)
        stacked = jnp.concatenate([frames, next_frames, next_frames - frames], -1)
        return coding.decode(net.apply(params, stacked))

    init = net_init(net, ((1,) + obs_shape[:-1] + (3 * obs_shape[-1],), jnp.float32))

    def predict(params, frame, next_frame):
        for arg, value in (("frame", frame), ("next_frame", next_frame)):
            check_shape(f"{name}.predict", arg, value, obs_shape)
        return forward(params, frame[None], next_frame[None])[0]

    def act(params, frame, next_frame):
        return coding.greedy(predict(params, frame, next_frame))

    def loss(params, frames, next_frames, actions, key=None):
        del key  # deterministic; the slot lets fit_minibatches pass one
        where = f"{name}.loss"
        b = batch_of(where, frames, obs_shape)
        check_shape(where, "next_frames", next_frames, obs_shape, lead=(b,))
        check_shape(where, "actions", actions, coding.shape, lead=(b,))
        return coding.loss(forward(params, frames, next_frames), actions)

    return InverseDynamics(init=with_typed_key(init, 0, where=f"{name}.init"), predict=predict,
                           act=act, loss=loss, obs_shape=obs_shape,
                           action_shape=coding.shape,
                           num_actions=coding.size if coding.discrete else None, net=net)


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
    check_fields(where, "model", model, ("loss", "obs_shape", "action_shape"),
                 what="an InverseDynamics (jwm.models.inverse_dynamics)")
    n = batch_of(where, frames, model.obs_shape)
    check_shape(where, "next_frames", next_frames, model.obs_shape, lead=(n,))
    check_shape(where, "actions", actions, model.action_shape, lead=(n,))
    return fit_minibatches(model.loss, params, (frames, next_frames, actions), key, steps=steps,
                           batch_size=batch_size, learning_rate=learning_rate, where=where)
