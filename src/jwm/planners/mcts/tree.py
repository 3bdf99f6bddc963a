"""The search tree: fixed-capacity arrays, one search per tree (vmap for a batch).

Node ``i`` is the node first expanded by simulation ``i`` (the root is node 0), so a
search of ``S`` simulations needs ``S + 1`` nodes and every array has a static shape.
"""

from __future__ import annotations

from typing import Any

import chex
import jax
import jax.numpy as jnp

__all__ = ["Tree", "ROOT", "UNVISITED", "NO_PARENT", "empty_tree", "qvalues"]

ROOT = 0
UNVISITED = -1
NO_PARENT = -1


@chex.dataclass(frozen=True)
class Tree:
    """A search tree of ``N`` nodes over ``A`` actions.

    Attributes:
      node_visits: ``[N]`` int32, visits of each node.
      raw_values: ``[N]``, the evaluation of each node when it was expanded.
      node_values: ``[N]``, the running mean of the returns backed up through it.
      parents: ``[N]`` int32, parent index (``NO_PARENT`` for the root and unused nodes).
      action_from_parent: ``[N]`` int32, the action that led to each node.
      depth: ``[N]`` int32, edges from the root.
      children_index: ``[N, A]`` int32, child node index or ``UNVISITED``.
      children_prior_logits: ``[N, A]``, prior logits of each action.
      children_values: ``[N, A]``, value of each child (its ``node_values``).
      children_visits: ``[N, A]`` int32.
      children_rewards: ``[N, A]``, reward of the transition to the child.
      children_discounts: ``[N, A]``, discount of that transition (0 at termination,
        -1 for a two-player alternation).
      invalid_actions: ``[N, A]`` bool, actions that may not be taken at each node.
      embeddings: pytree of ``[N, ...]``, the model latent of each node.
      root_gumbel: ``[A]``, the Gumbel noise of the root (zeros outside Gumbel search).
      num_nonfinite: int32, expansions whose model output was NaN or inf (those edges
        are made terminal with zero reward and value, and masked as invalid).
    """

    node_visits: chex.Array
    raw_values: chex.Array
    node_values: chex.Array
    parents: chex.Array
    action_from_parent: chex.Array
    depth: chex.Array
    children_index: chex.Array
    children_prior_logits: chex.Array
    children_values: chex.Array
    children_visits: chex.Array
    children_rewards: chex.Array
    children_discounts: chex.Array
    invalid_actions: chex.Array
    embeddings: Any
    root_gumbel: chex.Array
    num_nonfinite: chex.Array

    @property
    def num_nodes(self) -> int:
        return self.node_visits.shape[-1]

    @property
    def num_actions(self) -> int:
        return self.children_index.shape[-1]


def empty_tree(num_nodes: int, num_actions: int, embedding, dtype=jnp.float32) -> Tree:
    """A tree with no node filled in; ``embedding`` (one latent) gives the layout."""
    node = (num_nodes,)
    edge = (num_nodes, num_actions)
    return Tree(
        node_visits=jnp.zeros(node, jnp.int32),
        raw_values=jnp.zeros(node, dtype),
        node_values=jnp.zeros(node, dtype),
        parents=jnp.full(node, NO_PARENT, jnp.int32),
        action_from_parent=jnp.full(node, NO_PARENT, jnp.int32),
        depth=jnp.zeros(node, jnp.int32),
        children_index=jnp.full(edge, UNVISITED, jnp.int32),
        children_prior_logits=jnp.zeros(edge, dtype),
        children_values=jnp.zeros(edge, dtype),
        children_visits=jnp.zeros(edge, jnp.int32),
        children_rewards=jnp.zeros(edge, dtype),
        children_discounts=jnp.zeros(edge, dtype),
        invalid_actions=jnp.zeros(edge, bool),
        embeddings=jax.tree.map(lambda x: jnp.zeros(node + jnp.shape(x), jnp.asarray(x).dtype),
                                embedding),
        root_gumbel=jnp.zeros((num_actions,), dtype),
        num_nonfinite=jnp.zeros((), jnp.int32),
    )


def qvalues(tree: Tree, node) -> chex.Array:
    """``[A]`` action values at ``node``: ``r(s, a) + discount(s, a) * V(child)``."""
    return (tree.children_rewards[node]
            + tree.children_discounts[node] * tree.children_values[node])
