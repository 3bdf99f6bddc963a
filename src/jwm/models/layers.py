"""Small flax building blocks shared by the latent models and the actor-critic."""

from __future__ import annotations

import flax.linen as nn

__all__ = ["NormMLP", "dense_norm_silu", "layer_norm"]


def layer_norm(name=None):
    """LayerNorm with epsilon 1e-3 rather than flax's 1e-6: at a sequence restart every
    input is exactly 0, and normalising a zero vector would multiply its gradient by
    ``1 / sqrt(epsilon)``."""
    return nn.LayerNorm(epsilon=1e-3, name=name)


def dense_norm_silu(x, width, name=None):
    """Dense (no bias: the norm's own bias replaces it), LayerNorm, SiLU."""
    x = nn.Dense(width, use_bias=False, name=name)(x)
    return nn.silu(layer_norm(None if name is None else name + "_norm")(x))


class NormMLP(nn.Module):
    """``[..., F] -> [..., out]``: ``layers`` x (Dense, LayerNorm, SiLU), then a Dense.

    ``zero_out`` zero-initialises the output layer, so reward and value heads start
    predicting exactly 0 (as in DreamerV3).
    """

    units: int
    layers: int
    out: int
    zero_out: bool = False

    @nn.compact
    def __call__(self, x):
        for i in range(self.layers):
            x = dense_norm_silu(x, self.units, f"h{i}")
        init = nn.initializers.zeros if self.zero_out else nn.initializers.lecun_normal()
        return nn.Dense(self.out, kernel_init=init, name="out")(x)
