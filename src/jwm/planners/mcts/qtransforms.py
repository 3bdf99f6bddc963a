"""Q-value transforms: how a node's action values are scaled before selection."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jwm.planners.mcts.tree import Tree, qvalues

__all__ = ["normalized_by_parent_and_siblings", "completed_by_mix_value", "mixed_value"]


def normalized_by_parent_and_siblings(tree: Tree, node, epsilon: float = 1e-8):
    """``[A]`` Q-values min-max normalised over the node's value and its visited children.

    Unvisited actions score 0 (the minimum), as in MuZero's pseudocode and mctx.
    """
    q = qvalues(tree, node)
    visited = tree.children_visits[node] > 0
    v = tree.node_values[node]
    known = jnp.where(visited, q, v)
    lo = jnp.minimum(v, known.min())
    hi = jnp.maximum(v, known.max())
    return (jnp.where(visited, q, lo) - lo) / jnp.maximum(hi - lo, epsilon)


def mixed_value(raw_value, q, visits, prior_probs):
    """Gumbel MuZero's estimate of a node's value (Danihelka et al. 2022, appendix D).

    Interpolates the network's ``raw_value`` with the prior-weighted mean Q of the
    visited actions, weighted by how many visits back those Q-values.
    """
    total = visits.sum()
    probs = jnp.maximum(jnp.finfo(prior_probs.dtype).tiny, prior_probs)
    visited = visits > 0
    mass = jnp.where(visited, probs, 0.0).sum()
    weighted_q = jnp.where(visited, probs * q / jnp.where(visited, mass, 1.0), 0.0).sum()
    return (raw_value + total * weighted_q) / (total + 1)


def completed_by_mix_value(tree: Tree, node, *, value_scale: float = 0.1,
                           maxvisit_init: float = 50.0, epsilon: float = 1e-8):
    """``[A]`` completed Q-values for Gumbel search, rescaled to [0, 1] then scaled.

    Unvisited actions take `mixed_value`; the result is multiplied by
    ``(maxvisit_init + max visits) * value_scale`` so that the Q-values weigh more
    against the prior logits as the search grows.
    """
    q = qvalues(tree, node)
    visits = tree.children_visits[node]
    probs = jax.nn.softmax(tree.children_prior_logits[node])
    value = mixed_value(tree.raw_values[node], q, visits, probs)
    completed = jnp.where(visits > 0, q, value)
    lo, hi = completed.min(), completed.max()
    completed = (completed - lo) / jnp.maximum(hi - lo, epsilon)
    return (maxvisit_init + visits.max()) * value_scale * completed
