"""MuZero's model (Schrittwieser et al., 2020): representation, dynamics and prediction.

    latent = represent(obs)                         # h: observation -> hidden state
    latent', reward_logits = recurrent(latent, a)   # g: dynamics, next state and reward
    policy_logits, value_logits = predict(latent)   # f: prior policy and value

Trained end to end on K-step unrolls (`jwm.models.muzero_loss`) so that its predictions
serve the search, not to reconstruct observations. Hidden states are min-max scaled to
[0, 1] after ``h`` and after every ``g`` (as in the paper), which keeps the dynamics'
inputs in one range however deep the search unrolls. Rewards and values are categorical
over integer bins of ``value_transform(x)`` (MuZero's ``h(x)``), two-hot encoded
(`jwm.models.twohot`).

It is a `WorldModel`, and its ``prior_fn``/``value_fn`` plug into `jwm.planners.mcts`
unchanged; CEM and MPPI can plan in it too (its ``step`` returns discount 1: a learned
model does not know where episodes end, its reward and value heads learn 0 there).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jwm.checks import check_int
from jwm.keys import with_typed_key
from jwm.models.base import WorldModel
from jwm.models.checks import check_shape
from jwm.models.layers import NormMLP, layer_norm
from jwm.models.net_init import net_init
from jwm.models.twohot import value_transform_inverse

__all__ = ["MuZeroModel", "muzero_model"]


def _min_max_scale(latent):
    """Each hidden vector scaled to [0, 1] over its last axis (MuZero appendix G)."""
    low = latent.min(axis=-1, keepdims=True)
    high = latent.max(axis=-1, keepdims=True)
    return (latent - low) / jnp.maximum(high - low, 1e-5)


class _ResidualBlock(nn.Module):
    channels: int

    @nn.compact
    def __call__(self, x):
        y = nn.relu(layer_norm()(nn.Conv(self.channels, (3, 3), use_bias=False)(x)))
        y = layer_norm()(nn.Conv(self.channels, (3, 3), use_bias=False)(y))
        return nn.relu(x + y)


class _ResidualTorso(nn.Module):
    """``[..., H, W, C] -> [..., out]``: a 3x3 stem, residual blocks, a dense layer.
    Small boards and MinAtar frames (10x10) are kept at full resolution."""

    channels: int
    blocks: int
    out: int

    @nn.compact
    def __call__(self, x):
        lead = x.shape[:-3]
        x = x.reshape((-1,) + x.shape[-3:])
        x = nn.relu(layer_norm()(nn.Conv(self.channels, (3, 3), use_bias=False)(x)))
        for _ in range(self.blocks):
            x = _ResidualBlock(self.channels)(x)
        x = nn.Dense(self.out)(x.reshape((x.shape[0], -1)))
        return x.reshape(lead + (self.out,))


REPRESENTATIONS = ("auto", "mlp", "resnet")


def resolve_representation(where, representation, obs_shape) -> str:
    """``"mlp"`` or ``"resnet"``: ``"auto"`` is the residual CNN for ``[H, W, C]``
    observations and the MLP for others. ValueError naming ``representation`` for an
    unknown choice or a CNN asked of non-image observations."""
    if representation not in REPRESENTATIONS:
        raise ValueError(f"{where}: representation must be one of {REPRESENTATIONS}, got "
                         f"{representation!r}")
    if representation == "auto":
        return "resnet" if len(obs_shape) == 3 else "mlp"
    if representation == "resnet" and len(obs_shape) != 3:
        raise ValueError(f"{where}: representation 'resnet' needs [H, W, C] observations, "
                         f"got shape {tuple(obs_shape)}")
    return representation


def observation_torso(representation, hidden_sizes, out, channels, blocks) -> nn.Module:
    """``[..., *obs_shape] -> [..., out]``: the residual CNN (``"resnet"``, on
    ``[H, W, C]``) or an MLP (``"mlp"``: Dense, LayerNorm, SiLU layers) on flattened
    observations."""
    if representation == "resnet":
        return _ResidualTorso(channels, blocks, out)
    return NormMLP(hidden_sizes, None, out)


def as_network_input(obs, obs_shape, representation):
    """Observations as float32, flattened to vectors for the MLP."""
    obs = obs.astype(jnp.float32)
    if representation == "mlp":
        obs = obs.reshape(obs.shape[:obs.ndim - len(obs_shape)] + (-1,))
    return obs


class _MuZeroNet(nn.Module):
    obs_shape: tuple
    representation_kind: str
    num_actions: int
    latent_size: int
    hidden_sizes: tuple
    num_bins: int
    channels: int
    blocks: int

    def setup(self):
        self.representation = observation_torso(self.representation_kind, self.hidden_sizes,
                                                self.latent_size, self.channels, self.blocks)
        self.dynamics = NormMLP(self.hidden_sizes, None, self.latent_size)
        # Reward, value and policy heads start at 0: expected reward and value 0 and a
        # uniform prior, so an untrained network searches like plain MCTS.
        self.reward_head = NormMLP(self.hidden_sizes, None, self.num_bins, zero_out=True)
        self.value_head = NormMLP(self.hidden_sizes, None, self.num_bins, zero_out=True)
        self.policy_head = NormMLP(self.hidden_sizes, None, self.num_actions, zero_out=True)

    def represent(self, obs):
        return _min_max_scale(self.representation(
            as_network_input(obs, self.obs_shape, self.representation_kind)))

    def recurrent(self, latent, action):
        x = jnp.concatenate([latent, jax.nn.one_hot(action, self.num_actions)], axis=-1)
        return _min_max_scale(self.dynamics(x)), self.reward_head(x)

    def predict(self, latent):
        return self.policy_head(latent), self.value_head(latent)

    def __call__(self, obs, action):
        latent = self.represent(obs)
        latent, reward = self.recurrent(latent, action)
        return self.predict(latent), reward


def check_sizes(where, *, hidden_sizes, **sizes) -> tuple:
    """Each of ``sizes`` a positive int; ``hidden_sizes`` a non-empty sequence of them,
    returned as a tuple. ValueError naming the parameter otherwise."""
    for param, value in sizes.items():
        check_int(where, param, value)
    widths = tuple(hidden_sizes) if isinstance(hidden_sizes, (tuple, list)) else None
    if not widths or any(isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1
                         for w in widths):
        raise ValueError(f"{where}: hidden_sizes must be a non-empty tuple of positive ints, "
                         f"got {hidden_sizes!r}")
    return tuple(int(w) for w in widths)


@dataclasses.dataclass(frozen=True)
class MuZeroModel(WorldModel):
    """MuZero's three networks as a `WorldModel`, with what training needs beside it.

    World-model fields: ``init(key) -> params``; ``encode(params, obs [*obs_shape]) ->
    latent [latent_size]`` (``h``); ``step(params, latent, action, key) -> (latent,
    reward, 1.0)`` (``g``; the reward is the categorical mean, ``key`` unused).

    Extra fields (pure; leading batch axes allowed):
      represent: ``represent(params, obs [..., *obs_shape]) -> [..., latent_size]``.
      recurrent: ``recurrent(params, latent, action int32 [...]) -> (latent,
        reward_logits [..., num_bins])``; None for AlphaZero's model, whose dynamics are
        the true rules (`jwm.models.alphazero_model`).
      predict: ``predict(params, latent) -> (policy_logits [..., A], value_logits
        [..., num_bins])``.
      prior_fn: ``prior_fn(params, latent) -> [A]`` policy logits, for `mcts`.
      value_fn: ``value_fn(params, latent) -> scalar``, the categorical mean, for `mcts`.
      scalar: ``scalar(logits [..., num_bins]) -> [...]``, a reward or value.
      bins: ``[num_bins]`` support in ``value_transform`` space (integers ``-S..S``).
      obs_shape, num_actions, latent_size: the shapes it was built for.
      config: the hyperparameters, as a dict.
    """

    represent: Callable = None
    recurrent: Callable = None
    predict: Callable = None
    prior_fn: Callable = None
    value_fn: Callable = None
    scalar: Callable = None
    bins: Any = None
    obs_shape: tuple = ()
    num_actions: int = 0
    latent_size: int = 0
    config: Any = None


def muzero_model(observation_space, action_space, *, latent_size: int = 64,
                 hidden_sizes: tuple = (128,), support: int = 20, channels: int = 32,
                 blocks: int = 2, representation: str = "auto") -> MuZeroModel:
    """Builds a `MuZeroModel` for the given spaces.

    Args:
      observation_space: a `Box` of vectors ``[d]`` (MLP representation) or of images
        and boards ``[H, W, C]`` (residual CNN: MinAtar, pgx boards; booleans are cast
        to float).
      action_space: a `Discrete(n)`.
      latent_size: size of the hidden state.
      hidden_sizes: widths of the hidden layers of every MLP (representation of vector
        observations, dynamics, and the reward, value and policy heads), each layer
        Dense, LayerNorm, SiLU.
      support: rewards and values are categorical over the ``2 * support + 1``
        integers ``-support..support`` of ``value_transform`` space; 20 covers returns
        up to about 425 (``value_transform(425) = 20.06``); larger ones are clipped.
      channels, blocks: width and residual blocks of the CNN for ``[H, W, C]``
        observations.
      representation: ``"auto"`` (the CNN for ``[H, W, C]``, the MLP otherwise),
        ``"mlp"`` (flattened observations; cheaper on a CPU for small boards) or
        ``"resnet"``.

    ``encode`` and ``represent`` raise ValueError for an observation that is not
    ``[..., *obs_shape]``; ``step`` for an action that is not a scalar.
    """
    name = "muzero_model"
    hidden_sizes = check_sizes(name, latent_size=latent_size, support=support,
                               channels=channels, blocks=blocks, hidden_sizes=hidden_sizes)
    if not (hasattr(action_space, "n") and tuple(getattr(action_space, "shape", ())) == ()):
        raise TypeError(f"{name}: action_space must be a Discrete space, got {action_space!r}")
    obs_shape = tuple(getattr(observation_space, "shape", None) or ())
    if not hasattr(observation_space, "low") or len(obs_shape) not in (1, 3):
        raise TypeError(f"{name}: observation_space must be a Box of vectors [d] or of "
                        f"images/boards [H, W, C], got {observation_space!r}")
    num_actions = int(action_space.n)
    representation = resolve_representation(name, representation, obs_shape)
    net = _MuZeroNet(obs_shape=obs_shape, representation_kind=representation,
                     num_actions=num_actions, latent_size=latent_size,
                     hidden_sizes=hidden_sizes, num_bins=2 * support + 1, channels=channels,
                     blocks=blocks)
    bins = jnp.arange(-support, support + 1, dtype=jnp.float32)

    def scalar(logits):
        expected = jnp.sum(jax.nn.softmax(logits, axis=-1) * bins, axis=-1)
        return value_transform_inverse(expected)

    init = net_init(net, (obs_shape, jnp.float32), ((), jnp.int32))

    def represent(params, obs):
        lead = np.shape(obs)[:max(np.ndim(obs) - len(obs_shape), 0)]
        check_shape(f"{name}.represent", "obs", obs, obs_shape, lead=lead)
        return net.apply(params, jnp.asarray(obs), method="represent")

    def encode(params, obs):
        check_shape(f"{name}.encode", "obs", obs, obs_shape)
        return net.apply(params, jnp.asarray(obs), method="represent")

    def recurrent(params, latent, action):
        return net.apply(params, latent, jnp.asarray(action, jnp.int32), method="recurrent")

    def predict(params, latent):
        return net.apply(params, latent, method="predict")

    def step(params, latent, action, key):
        del key
        check_shape(f"{name}.step", "action", action, ())
        latent, reward_logits = recurrent(params, latent, action)
        return latent, scalar(reward_logits), jnp.ones((), jnp.float32)

    def prior_fn(params, latent):
        return predict(params, latent)[0]

    def value_fn(params, latent):
        return scalar(predict(params, latent)[1])

    config = dict(kind="muzero", latent_size=latent_size, hidden_sizes=list(hidden_sizes),
                  support=support, channels=channels, blocks=blocks,
                  representation=representation)
    return MuZeroModel(init=with_typed_key(init, 0, where=f"{name}.init"), encode=encode,
                       step=step, represent=represent, recurrent=recurrent, predict=predict,
                       prior_fn=prior_fn, value_fn=value_fn, scalar=scalar, bins=bins, obs_shape=obs_shape,
                       num_actions=num_actions, latent_size=latent_size, config=config)

