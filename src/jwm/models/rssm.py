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
from typing import Any, Callable, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jwm.checks import check_int
from jwm.keys import with_typed_key
from jwm.models.actions import action_encoder
from jwm.models.base import WorldModel
from jwm.models.checks import check_shape
from jwm.models.net_init import net_init
from jwm.models.rssm_net import RSSMNet, RSSMState
from jwm.models.twohot import symlog, twohot_bins, twohot_mean

__all__ = ["RSSMModel", "rssm_model", "STOCHASTIC_KINDS"]

STOCHASTIC_KINDS = ("discrete", "gaussian")


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
        check_int(name, param, value)
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
    one_hot_or_flat, action_dim = action_encoder(name, action_space)
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
    net = RSSMNet(obs_shape=obs_shape, action_dim=action_dim, deter=deter, hidden=hidden,
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
