"""Behaviour cloning from image observations: the demonstrator's action from the
current frame alone, by supervised learning on its (frame, action) pairs. It is the
baseline a video planner must beat with the same demonstrations: both see the same
frames, but the planner also imagines where they lead.

The network is a small CNN (two 3x3 convolutions, `PatchConv`, the second keeping
every other pixel, and an MLP); Discrete actions are classified (cross-entropy), Box actions regressed (squared
error on actions scaled to [-1, 1]).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jwm.agents.policy import Policy, stateless_policy
from jwm.checks import check_int
from jwm.keys import with_typed_key
from jwm.models.checks import check_shape
from jwm.models.minibatch import fit_minibatches
from jwm.models.video_diffusion import batch_of, image_bounds
from jwm.models.video_unet import PatchConv

__all__ = ["BehaviourCloning", "behaviour_cloning", "fit_behaviour_cloning"]


class _FramePolicyNet(nn.Module):
    """``frames [B, H, W, C] -> [B, out]`` on [-1, 1] images."""

    out: int
    channels: int
    hidden: int

    @nn.compact
    def __call__(self, frames):
        x = nn.silu(PatchConv(self.channels)(frames))
        x = nn.silu(PatchConv(self.channels)(x))[:, ::2, ::2]
        x = nn.silu(nn.LayerNorm()(nn.Dense(self.hidden)(x.reshape(x.shape[0], -1))))
        return nn.Dense(self.out)(x)


@dataclasses.dataclass(frozen=True)
class BehaviourCloning:
    """A cloned policy as pure functions.

    Attributes:
      init: ``init(key) -> params``.
      act: ``act(params, frame [H, W, C]) -> action``: the most likely action (int32)
        or the mean action clipped to the box; one frame, vmap for batches.
      loss: ``loss(params, frames [B, H, W, C], actions [B, *action_shape], key) ->
        (scalar, metrics)`` with ``metrics["accuracy"]`` (Discrete) or ``["mse"]``.
      policy: the greedy `Policy` for `jwm.agents.run_episode` (its params are
        ``init``'s).
      observation_shape, action_shape: ``(H, W, C)`` and ``()`` or the Box's shape.
    """

    init: Callable
    act: Callable
    loss: Callable
    policy: Policy
    observation_shape: tuple
    action_shape: tuple
    net: Any = dataclasses.field(default=None, compare=False)


def behaviour_cloning(observation_space, action_space, *, channels: int = 32,
                      hidden: int = 128) -> BehaviourCloning:
    """Builds a `BehaviourCloning` policy for image observations.

    Args:
      observation_space: a `Box` of images ``[H, W, C]`` with finite bounds.
      action_space: `Discrete` (a classifier) or a bounded floating `Box` (a regressor).
      channels: width of the two convolutions.
      hidden: width of the MLP's hidden layer.
    """
    name = "behaviour_cloning"
    channels = check_int(name, "channels", channels)
    hidden = check_int(name, "hidden", hidden)
    obs_shape, to_signed, _ = image_bounds(name, observation_space)
    discrete = hasattr(action_space, "n")
    if discrete:
        action_shape, out, mid, half = (), int(action_space.n), 0.0, 1.0
    elif hasattr(action_space, "low") and np.isfinite(action_space.low).all() \
            and np.isfinite(action_space.high).all():
        action_shape, out = tuple(action_space.shape), int(np.prod(action_space.shape))
        low, high = np.asarray(action_space.low), np.asarray(action_space.high)
        mid = ((high + low) / 2).astype(np.float32)
        half = np.maximum((high - low) / 2, 1e-6).astype(np.float32)
    else:
        raise TypeError(f"{name}: action_space must be a Discrete or a bounded Box, "
                        f"got {action_space!r}")
    net = _FramePolicyNet(out=out, channels=channels, hidden=hidden)

    def forward(params, frames):
        raw = net.apply(params, to_signed(frames))
        return raw if discrete else raw.reshape((-1,) + action_shape) * half + mid

    def init(key):
        return net.init(key, jnp.zeros((1,) + obs_shape, jnp.float32))

    def act(params, frame):
        check_shape(f"{name}.act", "frame", frame, obs_shape)
        out_ = forward(params, frame[None])[0]
        if discrete:
            return jnp.argmax(out_).astype(jnp.int32)
        return jnp.clip(out_, action_space.low, action_space.high)

    def loss(params, frames, actions, key):
        del key
        where = f"{name}.loss"
        b = batch_of(where, frames, obs_shape)
        check_shape(where, "actions", actions, action_shape, lead=(b,))
        pred = forward(params, frames)
        if discrete:
            value = optax.softmax_cross_entropy_with_integer_labels(
                pred, jnp.asarray(actions, jnp.int32)).mean()
            return value, {"loss": value, "accuracy": (jnp.argmax(pred, -1) == actions).mean()}
        err = pred - jnp.asarray(actions, jnp.float32)
        value = jnp.mean((err / half) ** 2)
        return value, {"loss": value, "mse": jax.lax.stop_gradient(jnp.mean(err ** 2))}

    policy = stateless_policy(lambda params, obs, key: act(params, obs))
    return BehaviourCloning(init=with_typed_key(init, 0, where=f"{name}.init"), act=act,
                            loss=loss, policy=policy, observation_shape=obs_shape,
                            action_shape=action_shape, net=net)


def fit_behaviour_cloning(model: BehaviourCloning, params, frames, actions, key, *,
                          steps: int, batch_size: int, learning_rate: float = 1e-3):
    """Trains ``model`` on ``N`` demonstrated pairs ``frames [N, H, W, C]``, ``actions
    [N, *action_shape]`` (`jwm.models.minibatch.fit_minibatches`); returns ``(params,
    losses [steps])``."""
    where = "fit_behaviour_cloning"
    if not isinstance(model, BehaviourCloning):
        raise TypeError(f"{where}: model must be a BehaviourCloning, got {type(model).__name__}")
    n = batch_of(where, frames, model.observation_shape)
    check_shape(where, "actions", actions, model.action_shape, lead=(n,))
    return fit_minibatches(model.loss, params, (frames, actions), key, steps=steps,
                           batch_size=batch_size, learning_rate=learning_rate, where=where)
