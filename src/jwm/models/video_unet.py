"""The denoising network of `jwm.models.video_diffusion`: residual convolutions at full
resolution over a clip whose frames are stacked as channels.

MinAtar frames are 10x10, so the network never downsamples: a few residual blocks at
full resolution, the second convolution of each dilated by 2, reach across the whole
frame (a receptive field of 23 pixels with three blocks). The noise level enters every
block as a FiLM scale and shift, the task id the same way through an embedding; a goal
frame, like the current frame, is an input image stacked onto the noisy clip.
"""

from __future__ import annotations

import math
import flax.linen as nn
import jax.numpy as jnp

from jwm.models.conv import PatchConv

__all__ = ["VideoDenoiser"]

_FREQUENCIES = 16


def _time_features(t):
    """``[B] -> [B, 2 * _FREQUENCIES]`` sinusoids of the diffusion time ``t`` in [0, 1]."""
    freqs = jnp.exp(jnp.linspace(0.0, math.log(1000.0), _FREQUENCIES))
    angles = t[:, None] * freqs[None, :]
    return jnp.concatenate([jnp.sin(angles), jnp.cos(angles)], -1)


def _coordinates(batch, height, width):
    """``[B, H, W, 2]`` pixel coordinates in [-1, 1]: Breakout's walls and rows matter,
    and zero padding alone tells a convolution little about where it is."""
    ys = jnp.linspace(-1.0, 1.0, height)
    xs = jnp.linspace(-1.0, 1.0, width)
    grid = jnp.stack(jnp.meshgrid(ys, xs, indexing="ij"), -1)
    return jnp.broadcast_to(grid, (batch, height, width, 2))


class _ResBlock(nn.Module):
    """GroupNorm, SiLU, conv; FiLM from the embedding; GroupNorm, SiLU, dilated conv;
    plus the input. The last conv starts at zero, so every block starts as the identity."""

    channels: int
    groups: int

    @nn.compact
    def __call__(self, x, emb):
        h = PatchConv(self.channels)(nn.silu(nn.GroupNorm(self.groups)(x)))
        scale, shift = jnp.split(nn.Dense(2 * self.channels)(nn.silu(emb)), 2, -1)
        h = nn.GroupNorm(self.groups)(h) * (1.0 + scale[:, None, None]) + shift[:, None, None]
        h = PatchConv(self.channels, dilation=2, kernel_init=nn.initializers.zeros)(nn.silu(h))
        return x + h


class VideoDenoiser(nn.Module):
    """``(noisy [B, H, W, K], frame [B, H, W, C], t [B], condition) -> [B, H, W, K]``.

    ``K`` is ``horizon * C`` (the clip's frames stacked as channels); the output is
    the v-prediction for the noisy clip. ``condition`` is ``[B]`` int task ids when
    ``num_tasks > 0``, else ``[B, H, W, C]`` goal frames; images are in [-1, 1].
    """

    out_channels: int
    channels: int = 64
    blocks: int = 3
    num_tasks: int = 0

    @nn.compact
    def __call__(self, noisy, frame, t, condition):
        batch, height, width, _ = noisy.shape
        emb_dim = 2 * self.channels
        emb = nn.Dense(emb_dim)(nn.silu(nn.Dense(emb_dim)(_time_features(t))))
        images = [noisy, frame, _coordinates(batch, height, width)]
        if self.num_tasks > 0:
            emb = emb + nn.Embed(self.num_tasks, emb_dim)(condition)
        else:
            images.append(condition)
        x = PatchConv(self.channels)(jnp.concatenate(images, -1))
        groups = math.gcd(self.channels, 8)
        for _ in range(self.blocks):
            x = _ResBlock(self.channels, groups)(x, emb)
        x = nn.silu(nn.GroupNorm(groups)(x))
        return PatchConv(self.out_channels, kernel_init=nn.initializers.zeros)(x)
