"""Small flax building blocks shared by the latent models and the imagination learners."""

from __future__ import annotations

import flax.linen as nn

__all__ = ["ACTIVATIONS", "NormMLP", "dense_norm_silu", "layer_norm"]

# The hidden activations a `NormMLP` takes by name.
ACTIVATIONS = {"silu": nn.silu, "relu": nn.relu, "tanh": nn.tanh, "elu": nn.elu}


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
    """``[..., F] -> [..., out]``: per hidden layer a Dense, a LayerNorm and an
    activation; then a Dense.

    ``units`` is either one width, used for ``layers`` hidden layers, or a tuple of
    widths, one per hidden layer, with ``layers`` None: ``NormMLP(64, 2, out)`` and
    ``NormMLP((64, 64), None, out)`` are the same network with the same parameters.

    Options (the defaults are DreamerV3's layers, as the RSSM and Dreamer's actor and
    critic use them):

    - ``norm``: with the LayerNorm (its bias replaces the Dense's; parameters
      ``h{i}``, ``h{i}_norm``, ``out``), or without it: a plain MLP of Dense layers with
      biases, as SVG's actor and critic. A plain MLP keeps flax's automatic names
      (``Dense_0`` ... ``Dense_L``, the output last): an initial parameter is drawn
      from a key folded with its name, and SVG's recorded results started from those.
    - ``activation``: one of `ACTIVATIONS` (``"silu"``, ``"relu"``, ``"tanh"``,
      ``"elu"``).
    - ``zero_out`` zero-initialises the output layer, so reward and value heads start
      predicting exactly 0 (as in DreamerV3).
    - ``out_scale``: the output kernel drawn from a truncated normal of variance
      ``out_scale / fan_in`` instead of LeCun's ``1 / fan_in``. A tiny one (SVG's actor,
      1e-4) starts a tanh policy near the centre of the action box with its initial
      spread everywhere, not at a random, possibly saturated, tanh; not exactly zero,
      which would zero every other layer's first gradient.
    - ``flatten``: apply the layers to the leading axes flattened into one (see the
      comment in ``__call__``), or to them as they are. The same function; a bias's
      gradient sums over the axes in another order, so the last bits differ (SVG's
      networks keep their axes, as its recorded results were computed).
    """

    units: int | tuple[int, ...]
    layers: int | None
    out: int
    zero_out: bool = False
    norm: bool = True
    activation: str = "silu"
    out_scale: float | None = None
    flatten: bool = True

    @nn.compact
    def __call__(self, x):
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"NormMLP: activation must be one of {list(ACTIVATIONS)}, "
                             f"got {self.activation!r}")
        if self.zero_out and self.out_scale is not None:
            raise ValueError("NormMLP: zero_out and out_scale both set the output layer's "
                             "initialisation; pass one")
        act = ACTIVATIONS[self.activation]
        # One batch axis, whatever the caller's leading axes: the weight gradient of a
        # Dense layer then contracts a single axis, which XLA's CPU backend does faster
        # than several (e.g. the critic's gradient on [512, 15] imagined Dreamer
        # states; benchmarks/dreamer_parts.py --baseline times the whole update).
        lead = x.shape[:-1]
        if self.flatten:
            x = x.reshape((-1, x.shape[-1]))
        for i, width in enumerate(self.widths):
            if self.norm:
                x = nn.Dense(width, use_bias=False, name=f"h{i}")(x)
                x = act(layer_norm(f"h{i}_norm")(x))
            else:
                x = act(nn.Dense(width)(x))
        if self.zero_out:
            init = nn.initializers.zeros
        elif self.out_scale is not None:
            init = nn.initializers.variance_scaling(self.out_scale, "fan_in",
                                                    "truncated_normal")
        else:
            init = nn.initializers.lecun_normal()
        out = nn.Dense(self.out, kernel_init=init, name="out" if self.norm else None)(x)
        return out.reshape(lead + (self.out,)) if self.flatten else out

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
