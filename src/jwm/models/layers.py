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
    """``[..., F] -> [..., out]``: (Dense, LayerNorm, SiLU) per hidden layer, then a Dense.

    ``units`` is either one width, used for ``layers`` hidden layers, or a tuple of
    widths, one per hidden layer, with ``layers`` None: ``NormMLP(64, 2, out)`` and
    ``NormMLP((64, 64), None, out)`` are the same network with the same parameters.

    ``zero_out`` zero-initialises the output layer, so reward and value heads start
    predicting exactly 0 (as in DreamerV3).
    """

    units: int | tuple[int, ...]
    layers: int | None
    out: int
    zero_out: bool = False

    @nn.compact
    def __call__(self, x):
        # One batch axis, whatever the caller's leading axes: the weight gradient of a
        # Dense layer then contracts a single axis, which XLA's CPU backend does faster
        # than several (e.g. the critic's gradient on [512, 15] imagined Dreamer
        # states; benchmarks/dreamer_parts.py --baseline times the whole update).
        lead = x.shape[:-1]
        x = x.reshape((-1, x.shape[-1]))
        for i, width in enumerate(self.widths):
            x = dense_norm_silu(x, width, f"h{i}")
        init = nn.initializers.zeros if self.zero_out else nn.initializers.lecun_normal()
        return nn.Dense(self.out, kernel_init=init, name="out")(x).reshape(lead + (self.out,))

    @property
    def widths(self) -> tuple[int, ...]:
        """The hidden widths, one per layer."""
        if isinstance(self.units, (tuple, list)):
            if self.layers is not None:
                raise ValueError(f"NormMLP: layers must be None when units is a tuple of "
                                 f"widths, got layers={self.layers!r}")
            return tuple(self.units)
        if self.layers is None:
            raise ValueError("NormMLP: layers must be an int when units is one width")
        return (self.units,) * self.layers
