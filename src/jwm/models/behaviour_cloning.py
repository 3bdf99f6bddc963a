"""Behaviour cloning from image observations: the demonstrator's action from the
current frame alone, by supervised learning on its (frame, action) pairs. It is the
baseline a video planner must beat with the same demonstrations: both see the same
frames, but the planner also imagines where they lead.

The network is the small CNN of inverse dynamics (`jwm.models.action_readout`) on
the frame alone; Discrete actions are classified (cross-entropy), Box actions regressed
(squared error on actions scaled to [-1, 1] when the box is bounded).
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
from jwm.policy import Policy, stateless_policy

__all__ = ["BehaviourCloning", "behaviour_cloning", "fit_behaviour_cloning"]


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
      obs_shape, action_shape: ``(H, W, C)`` and ``()`` or the Box's shape.
    """

    init: Callable
    act: Callable
    loss: Callable
    policy: Policy
    obs_shape: tuple
    action_shape: tuple
    net: Any = dataclasses.field(default=None, compare=False)


def behaviour_cloning(observation_space, action_space, *, channels: int = 32,
                      hidden: int = 128) -> BehaviourCloning:
    """Builds a `BehaviourCloning` policy for image observations.

    Args:
      observation_space: a `Box` of images ``[H, W, C]`` with finite bounds.
      action_space: `Discrete` (a classifier) or a floating `Box` (a regressor).
      channels: width of the two convolutions.
      hidden: width of the MLP's hidden layer.
    """
    name = "behaviour_cloning"
    channels = check_int(name, "channels", channels)
    hidden = check_int(name, "hidden", hidden)
    obs_shape, to_signed, _ = image_bounds(name, observation_space)
    coding = action_coding(name, action_space)
    net = FrameReader(out=coding.size, channels=channels, hidden=hidden)

    def forward(params, frames):
        return coding.decode(net.apply(params, to_signed(frames)))

    init = net_init(net, ((1,) + obs_shape, jnp.float32))

    def act(params, frame):
        check_shape(f"{name}.act", "frame", frame, obs_shape)
        return coding.greedy(forward(params, frame[None])[0])

    def loss(params, frames, actions, key):
        del key
        where = f"{name}.loss"
        b = batch_of(where, frames, obs_shape)
        check_shape(where, "actions", actions, coding.shape, lead=(b,))
        return coding.loss(forward(params, frames), actions)

    policy = stateless_policy(lambda params, obs, key: act(params, obs))
    return BehaviourCloning(init=with_typed_key(init, 0, where=f"{name}.init"), act=act,
                            loss=loss, policy=policy, obs_shape=obs_shape,
                            action_shape=coding.shape, net=net)


def fit_behaviour_cloning(model: BehaviourCloning, params, frames, actions, key, *,
                          steps: int, batch_size: int, learning_rate: float = 1e-3):
    """Trains ``model`` on ``N`` demonstrated pairs ``frames [N, H, W, C]``, ``actions
    [N, *action_shape]`` (`jwm.models.minibatch.fit_minibatches`); returns ``(params,
    losses [steps])``."""
    where = "fit_behaviour_cloning"
    check_fields(where, "model", model, ("loss", "obs_shape", "action_shape"),
                 what="a BehaviourCloning (jwm.models.behaviour_cloning)")
    n = batch_of(where, frames, model.obs_shape)
    check_shape(where, "actions", actions, model.action_shape, lead=(n,))
    return fit_minibatches(model.loss, params, (frames, actions), key, steps=steps,
                           batch_size=batch_size, learning_rate=learning_rate, where=where)
