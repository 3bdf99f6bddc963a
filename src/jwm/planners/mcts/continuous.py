"""Continuous actions: search over K actions sampled at each node (sampled MuZero).

A node's latent is paired with ``K`` candidate actions drawn from a proposal when the
node is created; the search then runs over the discrete choice among them. Wrapping
the model this way reuses the whole discrete search (tree, rules, rollouts) unchanged.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax

from jwm.models.base import WorldModel

__all__ = ["SampledLatent", "sampled_action_model", "uniform_proposal"]


class SampledLatent(NamedTuple):
    """A model latent with the candidate actions ``[K, *action_shape]`` sampled at it."""

    latent: Any
    actions: jax.Array


def uniform_proposal(action_space, num_actions: int) -> Callable:
    """``proposal(params, latent, key) -> [K, *action_shape]`` uniform in the box."""

    def propose(params, latent, key):
        del params, latent
        return action_space.sample(key, (num_actions,))

    return propose


def sampled_action_model(model, proposal: Callable) -> WorldModel:
    """``model`` over `SampledLatent`, whose actions are indices into the candidates."""

    def step(params, node: SampledLatent, slot, key):
        k_step, k_propose = jax.random.split(key)
        latent, reward, discount = model.step(params, node.latent, node.actions[slot], k_step)
        return SampledLatent(latent, proposal(params, latent, k_propose)), reward, discount

    def encode(params, obs):  # unused by the search; kept so the record is complete
        raise TypeError("sampled_action_model latents are built by the planner, not encoded")

    return WorldModel(init=model.init, encode=encode, step=step,
                      observes_state=getattr(model, "observes_state", False))
