"""A recurrent state-space model (RSSM, Hafner et al. 2019; DreamerV3 details, 2023).

The latent is a deterministic GRU state ``deter`` plus a stochastic state ``stoch``:
``S`` categorical variables of ``C`` classes (sampled one-hot, straight-through
gradients, 1% uniform mixture), or an ``S``-dimensional diagonal Gaussian. Each step

    deter' = GRU(deter, stoch, action)          (the sequence model)
    prior:     p(stoch' | deter')                (the dynamics predictor)
    posterior: q(stoch' | deter', embed(obs'))   (the representation model)

and heads read the features ``[deter, flat stoch]``: a decoder (symlog-MSE), a reward
head (two-hot over symlog bins) and a continue head (Bernoulli). The GRU is
block-diagonal with layer normalisation, as in DreamerV3's small presets: ``blocks``
groups of ``deter / blocks`` units see the shared input but only their own state, which
cuts the recurrent weights by ``blocks`` times. flax's `GRUCell` has neither the blocks
nor the normalisation, so the cell is written here.

As a `WorldModel`, ``step`` imagines with the prior, and ``encode`` filters one
observation from the initial state with the posterior mode, so the shooting planners
can plan in latent space (PlaNet). Agent loops that see a stream of observations use
``observe`` to filter.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jwm.keys import with_typed_key
from jwm.models.base import WorldModel
from jwm.models.checks import check_shape
from jwm.models.ensemble import _action_encoder, _positive_int
from jwm.models.layers import NormMLP, dense_norm_silu, layer_norm
from jwm.models.net_init import net_init
from jwm.models.twohot import symlog, twohot_bins, twohot_mean

__all__ = ["RSSMState", "RSSMModel", "rssm_model", "STOCHASTIC_KINDS"]

STOCHASTIC_KINDS = ("discrete", "gaussian")


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


class _RSSMNet(nn.Module):
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


@dataclasses.dataclass(frozen=True)
class RSSMModel(WorldModel):
    """An RSSM as a `WorldModel`, with what training and acting need beside it.

    World-model fields: ``init(key) -> params``; ``encode(params, obs) -> RSSMState``
    (the posterior mode after one observation from the initial state);
    ``step(params, RSSMState, action, key) -> (RSSMState, reward, continue_prob)``,
    imagining with the prior; the reward is the two-hot mean of the reward head.

    Extra fields (all pure; leading batch axes allowed unless stated):
      net: the flax module; ``net.apply(params, ..., method=...)`` reaches every part.
      initial: ``initial() -> RSSMState`` of zeros for one sequence.
      observe: ``observe(params, state, action, obs, key) -> RSSMState``, one filtering
        step: the transition from ``state`` under ``action`` and then the posterior given
        ``obs`` (a sample; straight-through gradients).
      imagine_step: ``imagine_step(params, state, action, key) -> RSSMState``, one
        prior step (``step`` without the heads).
      heads: ``heads(params, states) -> (reward [...], continue_prob [...])``, what
        ``step`` reads off the state it reached, for any leading axes at once: `imagine`
        steps with ``imagine_step`` and scores all ``[B, H]`` states in one call.
      features: ``features(state) -> [..., deter + S * C]`` (or ``deter + S``).
      sample: ``sample(stats, key) -> stoch`` from prior/posterior statistics;
        ``mode(stats) -> stoch``; ``kl(p_stats, q_stats) -> [...]`` summed over ``S``.
      encode_action: ``encode_action(action [..., *a]) -> [..., action_dim]``: one-hot
        for Discrete, scaled to ``[-1, 1]`` for a bounded Box.
      bins: ``[K]`` two-hot bin centres (symlog space).
      config: the hyperparameters, as a dict.
    """

    net: Any = None
    initial: Callable = None
    observe: Callable = None
    imagine_step: Callable = None
    heads: Callable = None
    features: Callable = None
    sample: Callable = None
    mode: Callable = None
    kl: Callable = None
    encode_action: Callable = None
    bins: Any = None
    obs_shape: tuple = ()
    action_shape: tuple = ()
    feature_dim: int = 0
    config: Any = None


def rssm_model(observation_space, action_space, *, deter: int = 512, hidden: int = 64,
               stoch: int = 32, classes: int = 4, stochastic: str = "discrete",
               blocks: int = 8, units: int = 64, layers: int = 2, num_bins: int = 255,
               min_std: float = 0.1) -> RSSMModel:
    """Builds an `RSSMModel` for the given spaces.

    Args:
      observation_space: a `Box` of vectors ``[d]`` (MLP encoder/decoder) or images
        ``[H, W, C]`` (small CNN, e.g. MinAtar).
      action_space: a `Box` or `Discrete`.
      deter: GRU state size; a multiple of ``blocks``.
      hidden: width of the GRU's input layers and of the prior/posterior networks.
      stoch: number of stochastic variables ``S``.
      classes: classes per categorical variable ``C`` (``stochastic="discrete"``).
      stochastic: ``"discrete"`` (categoricals) or ``"gaussian"``.
      blocks: groups of the block-diagonal GRU.
      units, layers: width and depth of the encoder, decoder and heads.
      num_bins: two-hot bins of the reward head.
      min_std: floor of the Gaussian standard deviation.

    The defaults are DreamerV3's smallest preset (deter 512, hidden 64, 4 classes).

    ``init``, ``step``, ``observe`` and ``imagine_step`` take typed or legacy PRNG
    keys. ``encode``, ``step``, ``observe`` and ``imagine_step`` raise ValueError for an
    observation or action whose shape is not ``[*lead, *obs_shape]`` /
    ``[*lead, *action_shape]``, ``lead`` being the state's batch axes (none for
    ``encode``).
    """
    name = "rssm_model"
    for param, value in (("deter", deter), ("hidden", hidden), ("stoch", stoch),
                         ("classes", classes), ("blocks", blocks), ("units", units),
                         ("layers", layers), ("num_bins", num_bins)):
        _positive_int(name, param, value)
    if stochastic not in STOCHASTIC_KINDS:
        raise ValueError(f"{name}: stochastic must be one of {STOCHASTIC_KINDS}, got {stochastic!r}")
    if stochastic == "discrete" and classes < 2:
        raise ValueError(f"{name}: classes must be >= 2 for discrete latents, got {classes}")
    if deter % blocks:
        raise ValueError(f"{name}: deter ({deter}) must be a multiple of blocks ({blocks})")
    if num_bins < 2:
        raise ValueError(f"{name}: num_bins must be >= 2, got {num_bins}")
    if not min_std > 0:
        raise ValueError(f"{name}: min_std must be > 0, got {min_std!r}")
    obs_shape = tuple(getattr(observation_space, "shape", ()) or ())
    if not hasattr(observation_space, "low") or len(obs_shape) not in (1, 3):
        raise TypeError(f"{name}: observation_space must be a Box of vectors [d] or images "
                        f"[H, W, C], got {observation_space!r}")
    one_hot_or_flat, action_dim = _action_encoder(name, action_space)
    action_shape = tuple(getattr(action_space, "shape", ()))
    if hasattr(action_space, "low") and np.isfinite(action_space.low).all() \
            and np.isfinite(action_space.high).all():
        mid = jnp.asarray((action_space.high + action_space.low) / 2, jnp.float32).reshape(-1)
        half = jnp.asarray(np.maximum((action_space.high - action_space.low) / 2, 1e-6),
                           jnp.float32).reshape(-1)

        def encode_action(a):
            return (one_hot_or_flat(a) - mid) / half
    else:
        encode_action = one_hot_or_flat

    discrete = stochastic == "discrete"
    stoch_shape = (stoch, classes) if discrete else (stoch,)
    feature_dim = deter + int(np.prod(stoch_shape))
    net = _RSSMNet(obs_shape=obs_shape, action_dim=action_dim, deter=deter, hidden=hidden,
                   stoch=stoch, classes=classes, kind=stochastic, blocks=blocks, units=units,
                   layers=layers, num_bins=num_bins, min_std=float(min_std))
    bins = twohot_bins(num_bins)

    def initial():
        return RSSMState(jnp.zeros((deter,), jnp.float32), jnp.zeros(stoch_shape, jnp.float32))

    def sample(stats, key):
        if discrete:
            probs = jnp.exp(stats)
            hard = jax.nn.one_hot(jax.random.categorical(key, stats), classes)
            # Straight-through: the forward pass uses the sample, gradients the probs.
            return hard + probs - jax.lax.stop_gradient(probs)
        mean, std = stats[..., 0], stats[..., 1]
        return mean + std * jax.random.normal(key, mean.shape)

    def mode(stats):
        if discrete:
            return jax.nn.one_hot(jnp.argmax(stats, -1), classes)
        return stats[..., 0]

    def kl(p, q):
        if discrete:
            return jnp.sum(jnp.exp(p) * (p - q), axis=(-2, -1))
        (pm, ps), (qm, qs) = (p[..., 0], p[..., 1]), (q[..., 0], q[..., 1])
        return jnp.sum(jnp.log(qs / ps) + (ps ** 2 + (pm - qm) ** 2) / (2 * qs ** 2) - 0.5, -1)

    def features(state):
        return jnp.concatenate([state.deter, state.stoch.reshape(
            state.stoch.shape[:state.deter.ndim - 1] + (-1,))], -1)

    init = net_init(net, (obs_shape, jnp.float32), ((action_dim,), jnp.float32))

    def check_inputs(where, state, action, obs=None):
        lead = jnp.shape(state.deter)[:-1]
        check_shape(where, "action", action, action_shape, lead=lead)
        if obs is not None:
            check_shape(where, "obs", obs, obs_shape, lead=lead)

    def prior_step(params, state, action, key):
        deter_ = net.apply(params, state, encode_action(action), method="sequence")
        stats = net.apply(params, deter_, method="prior")
        return RSSMState(deter_, sample(stats, key))

    def imagine_step(params, state, action, key):
        check_inputs(f"{name}.imagine_step", state, action)
        return prior_step(params, state, action, key)

    def observe(params, state, action, obs, key):
        check_inputs(f"{name}.observe", state, action, obs)
        deter_ = net.apply(params, state, encode_action(action), method="sequence")
        embed = net.apply(params, obs, method="embed")
        stats = net.apply(params, deter_, embed, method="posterior")
        return RSSMState(deter_, sample(stats, key))

    def encode(params, obs):
        check_shape(f"{name}.encode", "obs", obs, obs_shape)
        state = initial()
        zero_action = jnp.zeros((action_dim,), jnp.float32)
        deter_ = net.apply(params, state, zero_action, method="sequence")
        embed = net.apply(params, obs, method="embed")
        return RSSMState(deter_, mode(net.apply(params, deter_, embed, method="posterior")))

    def heads(params, state):
        feat = features(state)
        reward = twohot_mean(net.apply(params, feat, method="reward_logits"), bins)
        cont = jax.nn.sigmoid(net.apply(params, feat, method="continue_logit"))
        return reward, cont

    def step(params, state, action, key):
        check_inputs(f"{name}.step", state, action)
        state = prior_step(params, state, action, key)
        return (state,) + heads(params, state)

    config = dict(deter=deter, hidden=hidden, stoch=stoch, classes=classes,
                  stochastic=stochastic, blocks=blocks, units=units, layers=layers,
                  num_bins=num_bins, min_std=float(min_std))
    keyed = lambda fn, argnum, field: with_typed_key(fn, argnum, where=f"{name}.{field}")
    return RSSMModel(init=keyed(init, 0, "init"), encode=encode, step=keyed(step, 3, "step"),
                     net=net, initial=initial, observe=keyed(observe, 4, "observe"),
                     imagine_step=keyed(imagine_step, 3, "imagine_step"), heads=heads,
                     features=features,
                     sample=sample, mode=mode, kl=kl, encode_action=encode_action, bins=bins,
                     obs_shape=obs_shape, action_shape=action_shape,
                     feature_dim=feature_dim, config=config)
