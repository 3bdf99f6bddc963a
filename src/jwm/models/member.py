"""One ensemble member per imagined trajectory: a view of an `EnsembleModel` whose
latent is a single observation, for learners that act differently in every imagined
trajectory (SVG's value gradients)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jwm.keys import with_typed_key
from jwm.models.base import WorldModel
from jwm.models.checks import check_shape
from jwm.noise import standard_normal

__all__ = ["MemberState", "member_model"]


class MemberState(NamedTuple):
    """The latent of `member_model`: one trajectory that one ensemble member propagates.

    Attributes:
      obs: ``[obs_dim]`` predicted observation.
      alive: scalar float32, 1 until the trajectory has terminated.
      member: int32 scalar, the member propagating it; -1 until the first ``step``
        draws one uniformly at random.
    """

    obs: jax.Array
    alive: jax.Array
    member: jax.Array


def member_model(model, *, sample: bool = True) -> WorldModel:
    """A one-trajectory view of an ensemble: TS-infinity with a single particle.

    The latent is a `MemberState`: one observation, not a bundle of particles, so a
    policy acting on observations can choose a different action in every imagined
    trajectory (``model.step`` shares one action among its particles). The member is
    drawn at random at a trajectory's first step and kept for the rest of it. The
    view uses ``model``'s own parameters (`EnsembleParams`) and its known
    ``reward_fn``/``termination_fn``; for an `mlp_model` the member is always 0.

    ``step`` evaluates all ``E`` members on the one input and keeps the drawn one's
    output. Selecting the member's weights instead would, once vmapped over
    trajectories, gather a copy of every layer per trajectory; ``E`` small forward
    passes of one row are cheaper than that. The output is differentiable in the
    observation and the action (the noise is reparameterised), which is what value
    gradients (`jwm.imagination.svg`) need.

    Args:
      model: an `EnsembleModel` (`ensemble_model` or `mlp_model`).
      sample: for a probabilistic model, add the member's Gaussian noise; False
        propagates its mean.

    Returns:
      a `WorldModel`: ``init`` is ``model.init``; ``encode(params, obs [obs_dim]) ->
      MemberState``; ``step(params, MemberState, action [*action_shape], key) ->
      (MemberState, reward, discount)`` with discount 0 once terminated. Keys may be
      typed or legacy; a wrong observation or action shape raises ValueError.
    """
    for field in ("forward_std", "features", "ensemble_size", "obs_shape"):
        if getattr(model, field, None) is None:
            raise TypeError(f"member_model: model must be an EnsembleModel (from "
                            f"ensemble_model or mlp_model), got {type(model).__name__}")
    e, (obs_dim,), in_dim = model.ensemble_size, model.obs_shape, model.in_dim
    noisy = bool(sample) and model.probabilistic

    name = "member_model"

    def encode(params, obs):
        del params
        check_shape(f"{name}.encode", "obs", obs, (obs_dim,))
        return MemberState(obs=jnp.asarray(obs, jnp.float32),
                           alive=jnp.ones((), jnp.float32),
                           member=jnp.full((), -1, jnp.int32))

    def step(params, latent, action, key):
        check_shape(f"{name}.step", "action", action, model.action_shape)
        k_member, k_noise = jax.random.split(key)
        member = jnp.where(latent.member < 0,
                           jax.random.randint(k_member, (), 0, e, jnp.int32), latent.member)
        x = params.input_norm.normalize(model.features(latent.obs, action))
        mean, std = model.forward_std(params.net, jnp.broadcast_to(x, (e, 1, in_dim)))
        out = mean[member, 0]
        if noisy:
            out = out + std[member, 0] * standard_normal(k_noise, out.shape, "hash")
        out = params.target_norm.denormalize(out)
        next_obs = latent.obs + out[:obs_dim]
        if model.learns_reward:
            reward = out[obs_dim]
        else:
            reward = jnp.asarray(model.reward_fn(latent.obs, action, next_obs), jnp.float32)
        alive = latent.alive
        if model.termination_fn is not None:
            terminated = model.termination_fn(latent.obs, action, next_obs)
            alive = alive * (1.0 - jnp.asarray(terminated, jnp.float32))
        # Rewards of a trajectory that already ended count 0, as in `model.step`.
        reward = latent.alive * reward
        return MemberState(obs=next_obs, alive=alive, member=member), reward, alive

    return WorldModel(init=with_typed_key(model.init, 0, where=f"{name}.init"),
                      encode=encode, step=with_typed_key(step, 3, where=f"{name}.step"),
                      observes_state=False)
