"""Continuous actions: search over K actions sampled at each node (sampled MuZero).

A node's latent is paired with ``K`` candidate actions drawn from a proposal when the
node is created; the search then runs over the discrete choice among them. Wrapping
the model this way reuses the whole discrete search (tree, rules, rollouts) unchanged,
so `sampled_actions` turns any rule builder (`puct`, `gumbel`, `uct`) into one for a
`Box` action space.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple

import jax

from jwm.checks import check_int
from jwm.models.base import WorldModel
from jwm.planners.base import Planner, make_planner, space_kind
from jwm.planners.mcts.assembly import NAME
from jwm.spaces import Discrete

__all__ = ["SAMPLING_OPTIONS", "SampledLatent", "sampled_action_model", "sampled_actions",
           "uniform_proposal"]

# The options `sampled_actions` adds to the builder it wraps.
SAMPLING_OPTIONS = ("num_sampled_actions", "proposal_fn")


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


def sampled_actions(build: Callable) -> Callable:
    """The rule builder ``build`` (e.g. `puct`, `gumbel`, `uct`) for a `Box` action space.

    Returns:
      ``builder(model, action_space, *, num_sampled_actions=8, proposal_fn=None,
      **options) -> Planner``: every node draws ``num_sampled_actions`` (K) candidate
      actions from ``proposal_fn(params, latent, key) -> [K, *action_shape]`` (uniform
      in the box when None), and ``build`` searches the choice among them with uniform
      priors (``options`` are ``build``'s; rollouts act uniformly among the
      candidates). ``plan`` returns the chosen candidate, clipped to the box, with
      ``build``'s plan state and `MCTSInfo`. ``prior_fn``, ``invalid_actions_fn`` and
      ``reuse_tree`` need a Discrete space: give ``proposal_fn`` to shape the
      candidates instead.
    """
    return functools.partial(_sampled, build)


def _sampled(build: Callable, model, action_space, *, num_sampled_actions: int = 8,
             proposal_fn: Callable | None = None, value_fn: Callable | None = None,
             **options) -> Planner:
    space_kind(action_space, NAME, allowed=("box",))
    k = check_int(NAME, "num_sampled_actions", num_sampled_actions)
    for option in ("prior_fn", "invalid_actions_fn"):
        if options.pop(option, None) is not None:
            raise ValueError(f"{NAME}: {option} needs a Discrete action space; for a Box "
                             "give proposal_fn to shape the candidate actions")
    if options.pop("reuse_tree", False):
        raise ValueError(f"{NAME}: reuse_tree needs a Discrete action space (the new root's "
                         "candidate actions would not match the kept subtree's)")
    if proposal_fn is not None and not callable(proposal_fn):
        raise TypeError(f"{NAME}: proposal_fn must be callable or None, got {proposal_fn!r}")
    propose = proposal_fn or uniform_proposal(action_space, k)
    wrapped_value = None if value_fn is None else (
        lambda params, node: value_fn(params, node.latent))
    inner = build(sampled_action_model(model, propose), Discrete(k), value_fn=wrapped_value,
                  **options)

    def plan(plan_state, params, latent, key):
        k_propose, k_search = jax.random.split(key)
        candidates = propose(params, latent, k_propose)
        shape = (k,) + tuple(action_space.shape)
        if candidates.shape != shape:
            raise ValueError(f"{NAME}: proposal_fn must return shape {shape}, "
                             f"got {candidates.shape}")
        slot, plan_state, info = inner.plan(plan_state, params,
                                            SampledLatent(latent, candidates), k_search)
        return action_space.clip(candidates[slot]), plan_state, info

    return make_planner(NAME, inner.init, plan)
