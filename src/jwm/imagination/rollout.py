"""Rollouts of a policy inside a world model, as one `lax.scan` over the horizon."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from jwm.keys import as_typed_key

__all__ = ["Imagined", "imagine"]


class Imagined(NamedTuple):
    """A batch of imagined trajectories, batch-major.

    Attributes:
      latents: pytree, leaves ``[B, H + 1, ...]``; index 0 is the start latent.
      actions: ``[B, H, *action_shape]``, the action taken from ``latents[:, t]``.
      rewards: ``[B, H]``, the model's reward for that step.
      discounts: ``[B, H]``, the model's discount for that step (0 once terminated;
        a learned continue probability for latent models).
    """

    latents: Any
    actions: jax.Array
    rewards: jax.Array
    discounts: jax.Array


def imagine(model, params, policy: Callable[[Any, jax.Array], jax.Array], start_latents,
            horizon: int, key: jax.Array, *, unroll: int = 5) -> Imagined:
    """Rolls ``policy`` forward for ``horizon`` steps inside ``model``.

    A model that also has ``imagine_step(params, latent, action, key) -> latent`` and
    ``heads(params, latents) -> (rewards, discounts)`` for any leading axes (the RSSM's
    `RSSMModel`) is stepped with ``imagine_step`` inside the scan, and its heads read
    all ``[B, H]`` reached latents in one call after it: the same numbers as ``step``
    (the same keys), from matrix products ``H`` times taller.

    Args:
      model: a `WorldModel` (any record with ``step(params, latent, action, key)``).
      params: the model's parameters.
      policy: ``policy(latent, key) -> action`` for one latent. Close over the policy's
        parameters; gradients flow through it, and through ``model.step`` when the
        action is a differentiable function of them (reparameterised sampling).
      start_latents: pytree whose leaves carry a leading batch axis ``[B, ...]``.
      horizon: number of imagined steps ``H`` (a positive Python int).
      key: PRNG key, typed or legacy; each start and each step gets its own.
      unroll: imagined steps per iteration of the compiled loop (``lax.scan``'s
        ``unroll``, a positive int): the same numbers; a larger value gives XLA
        longer straight-line code to fuse, for a longer compilation
        (`benchmarks/dreamer_parts.py --baseline` times Dreamer's imagination
        against a revision without it).

    Returns:
      `Imagined` with leaves ``[B, H + 1, ...]`` for latents and ``[B, H]`` otherwise.
    """
    key = as_typed_key(key, where="imagine")
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon <= 0:
        raise ValueError(f"imagine: horizon must be a positive int, got {horizon!r}")
    if isinstance(unroll, bool) or not isinstance(unroll, int) or unroll <= 0:
        raise ValueError(f"imagine: unroll must be a positive int, got {unroll!r}")
    leaves = jax.tree.leaves(start_latents)
    if not leaves or any(jnp.ndim(x) == 0 for x in leaves):
        raise ValueError("imagine: start_latents must be a pytree of arrays with a leading "
                         "batch axis [B, ...]")
    batch = leaves[0].shape[0]
    if any(x.shape[0] != batch for x in leaves):
        raise ValueError("imagine: start_latents leaves disagree on the batch axis: "
                         f"{[x.shape[0] for x in leaves]}")

    heads_after = callable(getattr(model, "imagine_step", None)) and callable(
        getattr(model, "heads", None))

    def one(latent, key):
        def body(latent, key):
            policy_key, model_key = jax.random.split(key)
            action = policy(latent, policy_key)
            if heads_after:
                return model.imagine_step(params, latent, action, model_key), (latent, action)
            next_latent, reward, discount = model.step(params, latent, action, model_key)
            return next_latent, (latent, action, reward, discount)

        last, (latents, actions, *outcomes) = jax.lax.scan(
            body, latent, jax.random.split(key, horizon), unroll=min(unroll, horizon))
        latents = jax.tree.map(lambda xs, x: jnp.concatenate([xs, x[None]]), latents, last)
        return latents, actions, outcomes

    latents, actions, outcomes = jax.vmap(one)(start_latents, jax.random.split(key, batch))
    if heads_after:
        rewards, discounts = model.heads(params, jax.tree.map(lambda x: x[:, 1:], latents))
    else:
        rewards, discounts = outcomes
    return Imagined(latents, actions, rewards, discounts)
