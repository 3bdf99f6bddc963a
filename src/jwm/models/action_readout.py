"""Reading an action off image frames, the part that inverse dynamics (``(frame_t,
frame_{t+1}) -> a_t``) and behaviour cloning (``frame_t -> a_t``) share: a small CNN
and the coding of the action space (Discrete actions classified by cross-entropy, Box
actions regressed as squared error on actions scaled to [-1, 1] when the box is
bounded).
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jwm.models.conv import PatchConv

__all__ = ["FrameReader", "ActionCoding", "action_coding"]


class FrameReader(nn.Module):
    """``images [B, H, W, C] -> [B, out]`` on [-1, 1] images: two 3x3 convolutions,
    the second keeping every other pixel (a 10x10 frame's 5x5 summary keeps where the
    paddle is), then an MLP with one normalised hidden layer."""

    out: int
    channels: int
    hidden: int

    @nn.compact
    def __call__(self, x):
        x = nn.silu(PatchConv(self.channels)(x))
        x = nn.silu(PatchConv(self.channels)(x))[:, ::2, ::2]
        x = nn.silu(nn.LayerNorm()(nn.Dense(self.hidden)(x.reshape(x.shape[0], -1))))
        return nn.Dense(self.out)(x)


@dataclasses.dataclass(frozen=True)
class ActionCoding:
    """How network outputs ``[B, size]`` map to actions of one space.

    Attributes:
      shape: the action's shape (``()`` for Discrete).
      size: network outputs per action (``n`` logits, or the Box's element count).
      discrete: classification (True) or regression.
      mid, half: a Box's centre and half-width (``[*shape]``; 0 and 1 when unbounded).
      low, high: the Box's bounds (None for Discrete).
    """

    shape: tuple
    size: int
    discrete: bool
    mid: np.ndarray | float
    half: np.ndarray | float
    low: np.ndarray | None = None
    high: np.ndarray | None = None

    def decode(self, raw):
        """``[B, size]`` -> logits ``[B, n]`` or mean actions ``[B, *shape]`` in the
        box's units."""
        return raw if self.discrete else raw.reshape((-1,) + self.shape) * self.half + self.mid

    def greedy(self, decoded):
        """One decoded output -> the argmax action (int32) or the mean clipped to the box."""
        if self.discrete:
            return jnp.argmax(decoded).astype(jnp.int32)
        return jnp.clip(decoded, self.low, self.high)

    def loss(self, decoded, actions):
        """``(scalar, metrics)``: mean cross-entropy with ``metrics["accuracy"]``, or the
        mean squared error of the scaled action with ``metrics["mse"]`` in the box's units."""
        if self.discrete:
            value = optax.softmax_cross_entropy_with_integer_labels(
                decoded, jnp.asarray(actions, jnp.int32)).mean()
            hits = jnp.argmax(decoded, -1) == actions
            return value, {"loss": value, "accuracy": hits.mean()}
        err = decoded - jnp.asarray(actions, jnp.float32)
        value = jnp.mean((err / self.half) ** 2)
        return value, {"loss": value, "mse": jax.lax.stop_gradient(jnp.mean(err ** 2))}


def action_coding(where: str, action_space) -> ActionCoding:
    """The `ActionCoding` of a `Discrete` or floating `Box` action space; TypeError
    naming ``action_space`` for anything else."""
    if hasattr(action_space, "n"):
        return ActionCoding(shape=(), size=int(action_space.n), discrete=True, mid=0.0, half=1.0)
    if not (hasattr(action_space, "low")
            and np.issubdtype(np.dtype(action_space.dtype), np.floating)):
        raise TypeError(f"{where}: action_space must be a jwm.spaces.Discrete or a floating "
                        f"Box, got {action_space!r}")
    shape = tuple(action_space.shape)
    low, high = np.asarray(action_space.low), np.asarray(action_space.high)
    bounded = np.isfinite(low).all() and np.isfinite(high).all()
    # An unbounded box is regressed as it is; a bounded one on [-1, 1].
    mid = ((high + low) / 2 if bounded else np.zeros(shape)).astype(np.float32)
    half = (np.maximum((high - low) / 2, 1e-6) if bounded else np.ones(shape)).astype(np.float32)
    return ActionCoding(shape=shape, size=int(np.prod(shape)), discrete=False, mid=mid,
                        half=half, low=low, high=high)
