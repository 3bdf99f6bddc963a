"""Subtree reuse: the chosen child's subtree becomes the next search's root."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jwm.planners.mcts.tree import NO_PARENT, UNVISITED, Tree, empty_tree

__all__ = ["extract_subtree", "latents_match"]


def extract_subtree(tree: Tree, new_root, keep: int) -> tuple[Tree, jax.Array]:
    """Re-roots ``tree`` at node ``new_root`` and compacts it into the first nodes.

    Node order (creation order) is kept, so parents still come before children and
    ``new_root`` becomes node 0. At most ``keep`` nodes survive (the earliest created,
    which always form a connected subtree); edges to dropped nodes become unexpanded
    while keeping their visit statistics.

    Returns:
      ``(tree, num_nodes)``: a tree of the same capacity and how many nodes it holds.
    """
    capacity = tree.num_nodes

    def membership(member, j):
        parent = tree.parents[j]
        inside = (j == new_root) | ((j > new_root) & (parent >= 0)
                                    & member[jnp.maximum(parent, 0)])
        return member.at[j].set(inside), None

    member, _ = jax.lax.scan(membership, jnp.zeros((capacity,), bool), jnp.arange(capacity))
    rank = jnp.cumsum(member) - 1
    member = member & (rank < keep)
    position = jnp.where(member, rank, capacity)  # non-members scatter out of range

    def remap(index, missing):
        ok = (index >= 0) & member[jnp.maximum(index, 0)]
        return jnp.where(ok, rank[jnp.maximum(index, 0)], missing)

    def move(dst, src):
        return dst.at[position].set(src, mode="drop")

    fresh = empty_tree(capacity, tree.num_actions,
                       jax.tree.map(lambda x: x[0], tree.embeddings), tree.raw_values.dtype)
    out = fresh.replace(
        node_visits=move(fresh.node_visits, tree.node_visits),
        raw_values=move(fresh.raw_values, tree.raw_values),
        node_values=move(fresh.node_values, tree.node_values),
        parents=move(fresh.parents, remap(tree.parents, NO_PARENT)),
        action_from_parent=move(fresh.action_from_parent, tree.action_from_parent),
        depth=move(fresh.depth, tree.depth - tree.depth[new_root]),
        children_index=move(fresh.children_index, remap(tree.children_index, UNVISITED)),
        children_prior_logits=move(fresh.children_prior_logits, tree.children_prior_logits),
        children_values=move(fresh.children_values, tree.children_values),
        children_visits=move(fresh.children_visits, tree.children_visits),
        children_rewards=move(fresh.children_rewards, tree.children_rewards),
        children_discounts=move(fresh.children_discounts, tree.children_discounts),
        invalid_actions=move(fresh.invalid_actions, tree.invalid_actions),
        embeddings=jax.tree.map(move, fresh.embeddings, tree.embeddings),
    )
    out = out.replace(action_from_parent=out.action_from_parent.at[0].set(NO_PARENT))
    return out, jnp.minimum(member.sum(), keep).astype(jnp.int32)


def latents_match(a, b, rtol: float = 1e-5, atol: float = 1e-6) -> jax.Array:
    """Whether two latents agree: exactly for integers, to float noise for floats.

    The same deterministic step compiled in two places (inside the search and in the
    environment loop) may differ in the last bit, so floats get a tolerance.
    """
    def leaf(x, y):
        x, y = jnp.asarray(x), jnp.asarray(y)
        if jnp.issubdtype(x.dtype, jnp.inexact):
            return jnp.all(jnp.abs(x - y) <= atol + rtol * jnp.abs(y))
        return jnp.all(x == y)

    return jnp.all(jnp.stack([leaf(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b))]))
