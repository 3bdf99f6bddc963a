"""Q-value transforms: how a node's action values are scaled before selection.

Each works on `Row`s (the ``A`` values of one node, see `jwm.planners.mcts.rows`);
``.array()`` of a result is the ``[A]`` array.
"""

from __future__ import annotations

import jax.numpy as jnp

from jwm.planners.mcts.rows import Row
from jwm.planners.mcts.tree import Tree

__all__ = ["qvalues_row", "normalized_by_parent_and_siblings_row", "completed_by_mix_value_row",
           "mixed_value_row"]


def qvalues_row(tree: Tree, node) -> Row:
    """`qvalues` as a `Row`: ``r(s, a) + discount(s, a) * V(child)``."""
    return (Row.of(tree.children_rewards[node])
            + Row.of(tree.children_discounts[node]) * Row.of(tree.children_values[node]))


def normalized_by_parent_and_siblings_row(tree: Tree, node, epsilon: float = 1e-8) -> Row:
    """``node``'s ``A`` Q-values min-max normalised over its value and its visited
    children.

    Unvisited actions score 0 (the minimum), as in MuZero's pseudocode and mctx.
    """
    q = qvalues_row(tree, node)
    visited = Row.of(tree.children_visits[node]) > 0
    v = tree.node_values[node]
    known = Row.where(visited, q, v)
    lo = jnp.minimum(v, known.min())
    hi = jnp.maximum(v, known.max())
    return (Row.where(visited, q, lo) - lo) / jnp.maximum(hi - lo, epsilon)


def mixed_value_row(raw_value, q: Row, visits: Row, prior_probs: Row):
    """Gumbel MuZero's estimate of a node's value (Danihelka et al. 2022, appendix D):
    a scalar.

    Interpolates the network's ``raw_value`` (scalar) with the prior-weighted mean
    ``q`` of the visited actions, weighted by how many ``visits`` back those Q-values;
    ``q``, ``visits`` and ``prior_probs`` are the node's ``A`` values.
    """
    total = visits.sum()
    probs = Row.maximum(jnp.finfo(prior_probs.dtype).tiny, prior_probs)
    visited = visits > 0
    mass = Row.where(visited, probs, 0.0).sum()
    weighted_q = Row.where(visited, probs * q / Row.where(visited, mass, 1.0), 0.0).sum()
    return (raw_value + total * weighted_q) / (total + 1)


def completed_by_mix_value_row(tree: Tree, node, *, value_scale: float = 0.1,
                               maxvisit_init: float = 50.0, epsilon: float = 1e-8) -> Row:
    """``node``'s ``A`` completed Q-values for Gumbel search, rescaled to [0, 1] then
    scaled.

    Unvisited actions take `mixed_value_row`; the result is multiplied by
    ``(maxvisit_init + max visits) * value_scale`` so that the Q-values weigh more
    against the prior logits as the search grows.
    """
    q = qvalues_row(tree, node)
    visits = Row.of(tree.children_visits[node])
    probs = Row.of(tree.children_prior_logits[node]).softmax()
    value = mixed_value_row(tree.raw_values[node], q, visits, probs)
    completed = Row.where(visits > 0, q, value)
    lo, hi = completed.min(), completed.max()
    completed = (completed - lo) / jnp.maximum(hi - lo, epsilon)
    return (maxvisit_init + visits.max()) * value_scale * completed
