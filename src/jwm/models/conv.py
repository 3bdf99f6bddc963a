"""A small convolution written as one matrix product, for the image models (frame
model, video diffusion, inverse dynamics, behaviour cloning).

Why not ``nn.Conv``: every image model here trains inside a jitted ``lax.scan``, and on
XLA's CPU backend (jax 0.10.2) the weight gradient of a convolution inside a loop body
ran 40-60 times slower than outside one, at the default optimisation level and at the
test suite's alike, while slices and matrix products keep their speed. On MinAtar's
10x10 frames the ``size**2``-fold copy of the input is cheap. The map and the
parameter count are those of a convolution.
"""

from __future__ import annotations

from typing import Callable

import flax.linen as nn
import jax.numpy as jnp

__all__ = ["PatchConv"]


class PatchConv(nn.Module):
    """A ``size x size`` convolution with "SAME" zero padding on ``[..., H, W, C]``:
    the ``size**2`` shifted (strided, dilated) views of the input side by side, then one
    Dense. The output is ``[..., ceil(H / stride), ceil(W / stride), features]``."""

    features: int
    size: int = 3
    stride: int = 1
    dilation: int = 1
    kernel_init: Callable = nn.initializers.lecun_normal()

    @nn.compact
    def __call__(self, x):
        h, w = x.shape[-3], x.shape[-2]
        k, s, d = self.size, self.stride, self.dilation
        out_h, out_w = -(-h // s), -(-w // s)
        span = d * (k - 1) + 1
        pads = [max((n - 1) * s + span - m, 0) for n, m in ((out_h, h), (out_w, w))]
        x = jnp.pad(x, [(0, 0)] * (x.ndim - 3) + [(p // 2, p - p // 2) for p in pads] + [(0, 0)])
        views = [x[..., i * d:i * d + s * (out_h - 1) + 1:s, j * d:j * d + s * (out_w - 1) + 1:s, :]
                 for i in range(k) for j in range(k)]
        return nn.Dense(self.features, kernel_init=self.kernel_init)(jnp.concatenate(views, -1))
