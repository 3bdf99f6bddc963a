"""Learned dynamics: a deterministic MLP and a probabilistic ensemble (PETS), with
trajectory sampling over a particles axis.

Both are one flax module: ``E`` member MLPs vmapped into a single network whose
weights carry a leading ``[E]`` axis, so an ensemble forward pass is a batched matrix
multiply rather than ``E`` separate ones. Each member maps a normalised
``(observation, action)`` to a normalised next-observation *delta* and reward; a
probabilistic member also predicts their log-variance, softly clamped between learned
bounds as in Chua et al. (2018).

As a `WorldModel`, the latent is a bundle of ``P`` particles (`Particles`) and
``step`` advances all of them:

- ``"ts_inf"``: particle ``p`` is propagated by member ``p // (P / E)`` for the whole
  rollout (TS-infinity), and samples from that member's Gaussian.
- ``"ts1"``: a fresh random permutation each step deals the particles evenly among the
  members, so each particle's member is re-drawn every step (TS1).
- ``"expectation"``: every particle moves to the mean of the members' mean predictions
  (no sampling).

The particle axis lives inside the model, not in the planner, because grouping
particles by member is what lets each row go through one member only — the planner's
own ``particles=`` option would evaluate the whole ensemble per row. ``step`` returns
the mean reward of the particles still alive and, as discount, the fraction of them
that survive the step, so a planner's return equals the mean of the particle returns
and the discount is 0 once every particle has terminated.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any, Callable, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from jwm.checks import check_int
from jwm.keys import with_typed_key
from jwm.models.actions import action_encoder
from jwm.models.base import WorldModel
from jwm.models.checks import check_shape
from jwm.models.layers import ACTIVATIONS
from jwm.models.net_init import net_init
from jwm.models.normalizer import Normalizer, identity_normalizer
from jwm.noise import standard_normal

__all__ = ["EnsembleModel", "EnsembleParams", "Particles", "PROPAGATIONS", "ensemble_model",
           "mlp_model"]

PROPAGATIONS = ("ts_inf", "ts1", "expectation")


class Particles(NamedTuple):
    """The latent of a learned dynamics model: ``P`` particles of one state.

    Attributes:
      obs: ``[P, obs_dim]`` predicted observations.
      alive: ``[P]`` float32, 1 until the particle's episode has terminated.
    """

    obs: jax.Array
    alive: jax.Array


class EnsembleParams(NamedTuple):
    """Parameters of an `EnsembleModel`.

    Attributes:
      net: the flax variables of the ``E`` member networks (leading ``[E]`` axis).
      input_norm: `Normalizer` of the ``[obs, action]`` features.
      target_norm: `Normalizer` of the ``[delta_obs, reward]`` targets (reward only
        when it is learned).
    """

    net: Any
    input_norm: Normalizer
    target_norm: Normalizer


class _Member(nn.Module):
    """One member MLP: ``[B, in] -> (mean [B, out], spread [B, out] or None)``.

    ``spread`` is the log-variance (``output="logvar"``, what the likelihood needs) or
    the standard deviation (``output="std"``, what sampling needs); both read the same
    parameters.
    """

    hidden_sizes: tuple[int, ...]
    out_dim: int
    probabilistic: bool
    activation: str
    output: str = "logvar"

    @nn.compact
    def __call__(self, x):
        act = ACTIVATIONS[self.activation]
        for width in self.hidden_sizes:
            x = act(nn.Dense(width)(x))
        if not self.probabilistic:
            return nn.Dense(self.out_dim)(x), None
        mean, raw_logvar = jnp.split(nn.Dense(2 * self.out_dim)(x), 2, axis=-1)
        # Learned bounds keep the variance from collapsing to 0 on the training data or
        # exploding off it; softplus keeps the clamp differentiable.
        max_logvar = self.param("max_logvar", nn.initializers.constant(0.5), (self.out_dim,))
        min_logvar = self.param("min_logvar", nn.initializers.constant(-10.0), (self.out_dim,))
        if self.output == "std":
            return mean, _bounded_std(raw_logvar, max_logvar, min_logvar)
        logvar = max_logvar - nn.softplus(max_logvar - raw_logvar)
        logvar = min_logvar + nn.softplus(logvar - min_logvar)
        return mean, logvar


def _bounded_std(raw_logvar, max_logvar, min_logvar):
    """``exp(logvar / 2)`` of the soft-clamped log-variance, with one ``exp`` per element
    instead of two softplus and an exp (five transcendentals); an ad-hoc timing of a
    PETS plan step at 3 x 64 put the saving at about a tenth of the step. With
    ``softplus(z) = log(1 + e^z)``:
    ``std = e^(min/2) * sqrt(1 + 1 / (e^(min - max) + e^(min - raw)))``, the same
    function. An overflowing ``e^(min - raw)`` (raw far below the bounds) gives the
    floor ``e^(min/2)``, as the clamp does. It holds while ``max - min`` stays below
    about 87 (``e^(min - max)`` would flush to 0); fitting penalises that gap, and
    the bounds start 10.5 apart."""
    ratio = 1.0 / (jnp.exp(min_logvar - max_logvar) + jnp.exp(min_logvar - raw_logvar))
    return jnp.exp(0.5 * min_logvar) * jnp.sqrt(1.0 + ratio)


def _ensemble_network(ensemble_size, hidden_sizes, out_dim, probabilistic, activation,
                      output="logvar"):
    vmapped = nn.vmap(_Member, in_axes=0, out_axes=0, variable_axes={"params": 0},
                      split_rngs={"params": True}, axis_size=ensemble_size)
    return vmapped(hidden_sizes=hidden_sizes, out_dim=out_dim, probabilistic=probabilistic,
                   activation=activation, output=output)


@dataclasses.dataclass(frozen=True)
class EnsembleModel(WorldModel):
    """A `WorldModel` learned from data, with what training needs beside it.

    World-model fields (see `WorldModel`): ``init(key) -> EnsembleParams``,
    ``encode(params, obs [obs_dim]) -> Particles``,
    ``step(params, Particles, action, key) -> (Particles, reward, discount)``.

    Extra fields:
      forward: ``forward(net, x [E, B, in]) -> (mean [E, B, out], logvar [E, B, out] or
        None)`` in normalised units.
      forward_std: the same with the standard deviation ``exp(logvar / 2)`` in place of
        the log-variance, computed more cheaply (what sampling needs).
      features: ``features(obs [..., obs_dim], action [..., *a]) -> [..., in]``, the raw
        network input (Discrete actions one-hot).
      targets: ``targets(obs, action, reward [...], next_obs) -> [..., out]``, the raw
        regression target (observation delta, then reward if it is learned).
      ensemble_size, particles, propagation, probabilistic, obs_shape, action_shape,
      in_dim, out_dim, learns_reward: the configuration (``obs_shape`` is
      ``(obs_dim,)``; ``action_shape`` is ``()`` for a Discrete action).
      reward_fn, termination_fn: the known functions it was built with, or None.
    """

    forward: Callable = None
    forward_std: Callable = None
    features: Callable = None
    targets: Callable = None
    ensemble_size: int = 1
    particles: int = 1
    propagation: str = "ts_inf"
    probabilistic: bool = False
    obs_shape: tuple = ()
    action_shape: tuple = ()
    in_dim: int = 0
    out_dim: int = 0
    learns_reward: bool = True
    reward_fn: Callable | None = None
    termination_fn: Callable | None = None


def mlp_model(observation_space, action_space, *, hidden_sizes=(200, 200, 200),
              activation: str = "silu", reward_fn=None, termination_fn=None) -> EnsembleModel:
    """A deterministic MLP dynamics model: an `ensemble_model` of one member, no
    variance head, one particle. Trained by mean squared error."""
    return _ensemble("mlp_model", observation_space, action_space, ensemble_size=1,
                     hidden_sizes=hidden_sizes, probabilistic=False, propagation="ts_inf",
                     particles=1, activation=activation, reward_fn=reward_fn,
                     termination_fn=termination_fn)


def ensemble_model(observation_space, action_space, *, ensemble_size: int = 5,
                   hidden_sizes=(200, 200, 200, 200), probabilistic: bool = True,
                   propagation: str = "ts_inf", particles: int = 20,
                   activation: str = "silu", reward_fn=None,
                   termination_fn=None) -> EnsembleModel:
    """Builds a probabilistic (or deterministic) ensemble dynamics model.

    Args:
      observation_space: a `Box` of vector observations ``[obs_dim]``.
      action_space: a floating `Box` (flattened into the input) or a `Discrete`
        (one-hot).
      ensemble_size: E, members trained on their own bootstrap of the data.
      hidden_sizes: widths of the hidden layers of each member.
      probabilistic: members predict a Gaussian (mean and log-variance); otherwise a
        point prediction trained by squared error.
      propagation: ``"ts_inf"``, ``"ts1"`` or ``"expectation"`` (module docstring).
      particles: P, particles per latent; a multiple of ``ensemble_size`` for the
        trajectory-sampling propagations.
      activation: ``"silu"`` (swish, as PETS), ``"relu"``, ``"tanh"`` or ``"elu"``.
      reward_fn: optional known reward ``reward_fn(obs, action, next_obs) -> scalar``;
        when given, the network does not learn the reward.
      termination_fn: optional known ``termination_fn(obs, action, next_obs) -> bool``;
        without it, the model never terminates.

    Returns:
      an `EnsembleModel`. ``init`` and ``step`` take typed or legacy PRNG keys;
      ``encode`` and ``step`` raise ValueError for an observation or action of the
      wrong shape.
    """
    return _ensemble("ensemble_model", observation_space, action_space,
                     ensemble_size=ensemble_size, hidden_sizes=hidden_sizes,
                     probabilistic=probabilistic, propagation=propagation,
                     particles=particles, activation=activation, reward_fn=reward_fn,
                     termination_fn=termination_fn)


def _ensemble(name, observation_space, action_space, *, ensemble_size, hidden_sizes,
              probabilistic, propagation, particles, activation, reward_fn,
              termination_fn) -> EnsembleModel:
    """`ensemble_model`, with errors naming ``name`` (the public builder called)."""
    obs_dim = _vector_dim(name, "observation_space", observation_space)
    encode_action, action_dim = action_encoder(name, action_space)
    ensemble_size = check_int(name, "ensemble_size", ensemble_size)
    particles = check_int(name, "particles", particles)
    if isinstance(hidden_sizes, numbers.Integral):
        hidden_sizes = (hidden_sizes,)
    hidden_sizes = tuple(hidden_sizes)
    for width in hidden_sizes:
        check_int(name, "hidden_sizes", width)
    if propagation not in PROPAGATIONS:
        raise ValueError(f"{name}: propagation must be one of {list(PROPAGATIONS)}, "
                         f"got {propagation!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"{name}: activation must be one of {list(ACTIVATIONS)}, "
                         f"got {activation!r}")
    if propagation != "expectation" and particles % ensemble_size:
        raise ValueError(f"{name}: particles ({particles}) must be a multiple of "
                         f"ensemble_size ({ensemble_size}) for propagation {propagation!r}")
    for fn_name, fn in (("reward_fn", reward_fn), ("termination_fn", termination_fn)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name}: {fn_name} must be callable or None, got {fn!r}")

    learns_reward = reward_fn is None
    in_dim = obs_dim + action_dim
    out_dim = obs_dim + int(learns_reward)
    network = _ensemble_network(ensemble_size, hidden_sizes, out_dim, probabilistic,
                                activation)
    sampler = _ensemble_network(ensemble_size, hidden_sizes, out_dim, probabilistic,
                                activation, output="std")

    def features(obs, action):
        return jnp.concatenate([jnp.asarray(obs, jnp.float32), encode_action(action)], -1)

    def targets(obs, action, reward, next_obs):
        del action
        delta = jnp.asarray(next_obs, jnp.float32) - jnp.asarray(obs, jnp.float32)
        if not learns_reward:
            return delta
        return jnp.concatenate([delta, jnp.asarray(reward, jnp.float32)[..., None]], -1)

    def forward(net, x):
        return network.apply(net, x)

    def forward_std(net, x):
        return sampler.apply(net, x)

    init_network = net_init(network, ((ensemble_size, 1, in_dim), jnp.float32))

    def init(key):
        return EnsembleParams(net=init_network(key), input_norm=identity_normalizer(in_dim),
                              target_norm=identity_normalizer(out_dim))

    action_shape = tuple(action_space.shape)

    def encode(params, obs):
        del params
        check_shape(f"{name}.encode", "obs", obs, (obs_dim,))
        obs = jnp.asarray(obs, jnp.float32)
        return Particles(obs=jnp.broadcast_to(obs, (particles, obs_dim)),
                         alive=jnp.ones((particles,), jnp.float32))

    group = particles // ensemble_size

    def predict_targets(params, x, key):
        """Raw targets ``[P, out]`` for raw features ``x [P, in]``."""
        xn = params.input_norm.normalize(x)
        if propagation == "expectation":
            mean, _ = forward(params.net, jnp.broadcast_to(xn, (ensemble_size,) + xn.shape))
            # Denormalisation is affine, so averaging normalised means is exact.
            return params.target_norm.denormalize(mean.mean(0))
        k_order, k_noise = jax.random.split(key)
        if propagation == "ts1":
            order = jax.random.permutation(k_order, particles)
            xn = xn[order]
        mean, std = forward_std(params.net, xn.reshape(ensemble_size, group, in_dim))
        if probabilistic:
            mean = mean + std * standard_normal(k_noise, mean.shape, "hash")
        out = params.target_norm.denormalize(mean.reshape(particles, out_dim))
        if propagation == "ts1":
            out = jnp.zeros_like(out).at[order].set(out)
        return out

    def step(params, latent, action, key):
        check_shape(f"{name}.step", "action", action, action_shape)
        obs, alive = latent
        x = features(obs, jnp.broadcast_to(action, (particles,) + jnp.shape(action)))
        out = predict_targets(params, x, key)
        next_obs = obs + out[:, :obs_dim]
        if learns_reward:
            reward = out[:, obs_dim]
        else:
            reward = jax.vmap(reward_fn, (0, None, 0))(obs, action, next_obs)
        alive_next = alive
        if termination_fn is not None:
            terminated = jax.vmap(termination_fn, (0, None, 0))(obs, action, next_obs)
            alive_next = alive * (1.0 - terminated.astype(jnp.float32))
        # Mean reward over live particles and their survival fraction: a planner's
        # running product of discounts is then the fraction still alive, and its
        # return the mean of the particles' returns.
        live = jnp.maximum(alive.sum(), 1e-12)
        reward = (alive * reward.astype(jnp.float32)).sum() / live
        discount = alive_next.sum() / live
        return Particles(obs=next_obs, alive=alive_next), reward, discount

    return EnsembleModel(init=with_typed_key(init, 0, where=f"{name}.init"), encode=encode,
                         step=with_typed_key(step, 3, where=f"{name}.step"),
                         observes_state=False,
                         forward=forward, forward_std=forward_std, features=features,
                         targets=targets,
                         ensemble_size=ensemble_size, particles=particles,
                         propagation=propagation, probabilistic=probabilistic,
                         obs_shape=(obs_dim,), action_shape=action_shape,
                         in_dim=in_dim, out_dim=out_dim,
                         learns_reward=learns_reward, reward_fn=reward_fn,
                         termination_fn=termination_fn)


def _vector_dim(name, param, space):
    shape = getattr(space, "shape", None)
    if shape is None or not hasattr(space, "low") or len(shape) != 1:
        raise TypeError(f"{name}: {param} must be a jwm.spaces.Box of vectors "
                        f"(shape [dim]), got {space!r}")
    return int(shape[0])
