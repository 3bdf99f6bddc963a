"""The RSSM's networks (flax): its latent record `RSSMState`, the convolutional
encoder and decoder of image observations, the block-diagonal GRU with layer
normalisation (flax's `GRUCell` has neither the blocks nor the normalisation), and the
module that holds them with the prior, posterior and heads. `jwm.models.rssm` builds
the world model on them."""

from __future__ import annotations

import math
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jwm.models.layers import NormMLP, dense_norm_silu, layer_norm
from jwm.models.twohot import symlog

__all__ = ["RSSMNet", "RSSMState"]


class RSSMState(NamedTuple):
    """The RSSM latent of one time step (add leading axes for batches and time).

    Attributes:
      deter: ``[deter]`` deterministic recurrent state.
      stoch: ``[S, C]`` one-hot samples (discrete) or ``[S]`` (Gaussian).
    """

    deter: jax.Array
    stoch: jax.Array


class _ConvEncoder(nn.Module):
    """``[..., H, W, C] -> [..., units]``: stride-2 convolutions, depth doubling."""

    depth: int
    units: int

    @nn.compact
    def __call__(self, x):
        lead = x.shape[:-3]
        x = x.reshape((-1,) + x.shape[-3:])
        for i in range(2):
            x = nn.Conv(self.depth * 2 ** i, (3, 3), strides=(2, 2), use_bias=False)(x)
            x = nn.silu(layer_norm()(x))
        x = x.reshape(lead + (-1,))
        return dense_norm_silu(x, self.units, "proj")


class _ConvDecoder(nn.Module):
    """``[..., F] -> [..., H, W, C]``: a Dense to a coarse grid, then transposed convs."""

    depth: int
    shape: tuple

    @nn.compact
    def __call__(self, feat):
        h, w, c = self.shape
        coarse = (math.ceil(h / 4), math.ceil(w / 4))
        lead = feat.shape[:-1]
        x = nn.Dense(coarse[0] * coarse[1] * self.depth * 2)(feat)
        x = x.reshape((-1,) + coarse + (self.depth * 2,))
        x = nn.silu(layer_norm()(nn.ConvTranspose(self.depth, (3, 3), strides=(2, 2))(x)))
        x = nn.ConvTranspose(c, (3, 3), strides=(2, 2))(x)
        return x[:, :h, :w, :].reshape(lead + (h, w, c))


class _BlockGRU(nn.Module):
    """A layer-normalised GRU whose state is split into ``blocks`` groups.

    ``(deter [..., D], inputs [..., I]) -> deter [..., D]``. Each group's gates are a
    linear function of its own ``D / blocks`` units and the whole input; the update
    gate is biased towards keeping the state (``-1``), as in DreamerV3.
    """

    size: int
    blocks: int

    @nn.compact
    def __call__(self, deter, inputs):
        g, d = self.blocks, self.size // self.blocks
        lead = deter.shape[:-1]
        grouped = deter.reshape(lead + (g, d))
        # Group i's gates read [its own state, the whole input] through kernel[i].
        kernel = self.param("kernel", nn.initializers.lecun_normal(batch_axis=(0,)),
                            (g, d + inputs.shape[-1], 3 * d))
        # The input part is one dense product into every group's gates, rather than a
        # per-group product of the input copied g times: the same sums, without the
        # copy, in the shape the CPU's matrix kernels run fastest.
        input_kernel = kernel[:, d:].transpose(1, 0, 2).reshape(inputs.shape[-1], 3 * self.size)
        gates = (inputs @ input_kernel).reshape(lead + (g, 3 * d)) + jnp.einsum(
            "...gi,gio->...go", grouped, kernel[:, :d])
        gates = layer_norm("norm")(gates.reshape(lead + (3 * self.size,)))
        gates = gates.reshape(lead + (g, 3 * d))
        reset, cand, update = jnp.split(gates, 3, axis=-1)
        reset = jax.nn.sigmoid(reset)
        cand = jnp.tanh(reset * cand)
        update = jax.nn.sigmoid(update - 1.0)
        return (update * cand + (1.0 - update) * grouped).reshape(lead + (self.size,))


class RSSMNet(nn.Module):
    """Every network of the RSSM in one flax module; methods are used via ``apply``."""

    obs_shape: tuple
    action_dim: int
    deter: int
    hidden: int
    stoch: int
    classes: int
    kind: str
    blocks: int
    units: int
    layers: int
    num_bins: int
    min_std: float

    def setup(self):
        image = len(self.obs_shape) == 3
        self.encoder = (_ConvEncoder(16, self.units) if image else
                        NormMLP(self.units, self.layers, self.units))
        self.decoder = (_ConvDecoder(16, self.obs_shape) if image else
                        NormMLP(self.units, self.layers, int(np.prod(self.obs_shape))))
        self.in_stoch = nn.Dense(self.hidden, use_bias=False)
        self.in_stoch_norm = layer_norm()
        self.in_action = nn.Dense(self.hidden, use_bias=False)
        self.in_action_norm = layer_norm()
        self.in_deter = nn.Dense(self.hidden, use_bias=False)
        self.in_deter_norm = layer_norm()
        self.gru = _BlockGRU(self.deter, self.blocks)
        stats = self.stoch * (self.classes if self.kind == "discrete" else 2)
        self.prior_net = NormMLP(self.hidden, 1, stats)
        self.posterior_net = NormMLP(self.hidden, 1, stats)
        self.reward_head = NormMLP(self.units, self.layers, self.num_bins, zero_out=True)
        self.continue_head = NormMLP(self.units, self.layers, 1)

    def embed(self, obs):
        """``[..., *obs_shape] -> [..., units]`` (vector observations are symlog-ed)."""
        obs = jnp.asarray(obs, jnp.float32)
        if len(self.obs_shape) != 3:
            obs = symlog(obs)
        return self.encoder(obs)

    def sequence(self, state: RSSMState, action):
        """The deterministic transition ``deter' = GRU(deter, stoch, action)``."""
        flat = state.stoch.reshape(state.stoch.shape[:-2] + (-1,)) if self.kind == "discrete" \
            else state.stoch
        x = jnp.concatenate([
            nn.silu(self.in_deter_norm(self.in_deter(state.deter))),
            nn.silu(self.in_stoch_norm(self.in_stoch(flat))),
            nn.silu(self.in_action_norm(self.in_action(action)))], -1)
        return self.gru(state.deter, x)

    def prior(self, deter):
        """Statistics of ``p(stoch | deter)``: logits ``[..., S, C]`` or mean/std ``[..., S, 2]``."""
        return self._stats(self.prior_net(deter))

    def posterior(self, deter, embed):
        """Statistics of ``q(stoch | deter, embed)`` (same layout as `prior`)."""
        return self._stats(self.posterior_net(jnp.concatenate([deter, embed], -1)))

    def _stats(self, raw):
        if self.kind == "discrete":
            logits = raw.reshape(raw.shape[:-1] + (self.stoch, self.classes))
            # 1% uniform mixture: no class is ever impossible, so KL terms stay bounded.
            probs = 0.99 * jax.nn.softmax(logits, -1) + 0.01 / self.classes
            return jnp.log(probs)
        mean, raw_std = jnp.split(raw, 2, -1)
        std = 2.0 * jax.nn.sigmoid(raw_std / 2.0) + self.min_std
        return jnp.stack([mean, std], -1)

    def decode(self, feat):
        return self.decoder(feat).reshape(feat.shape[:-1] + tuple(self.obs_shape))

    def reward_logits(self, feat):
        return self.reward_head(feat)

    def continue_logit(self, feat):
        return self.continue_head(feat)[..., 0]

    def __call__(self, obs, action):
        """Touches every submodule once (for ``init``)."""
        shape = (self.stoch, self.classes) if self.kind == "discrete" else (self.stoch,)
        state = RSSMState(jnp.zeros((self.deter,)), jnp.zeros(shape))
        deter = self.sequence(state, action)
        embed = self.embed(obs)
        self.prior(deter)
        stats = self.posterior(deter, embed)
        feat = jnp.concatenate([deter, jnp.zeros((int(np.prod(shape)),))])
        return self.decode(feat), self.reward_logits(feat), self.continue_logit(feat), stats
