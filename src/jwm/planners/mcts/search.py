"""Tree search for one root: simulations in a `fori_loop`, descent in a `while_loop`.

Per simulation: descend from the root by the selection rule until an unexpanded action
(or ``max_depth``), expand it with one ``model.step``, evaluate the new node, and back
the return up the path.

Why the backup does not carry the tree through a loop: under `vmap` a `while_loop`
whose trip count differs across the batch selects between old and new carry on every
iteration. Carrying the whole tree would then copy ``O(num_nodes)`` arrays per backup
step, which makes search cost grow faster than linearly with the simulation budget.
Here the descent records its path in a small buffer; the backup runs over that buffer
and writes the tree once, with scatters of path length.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from jwm.planners.mcts.selection import node_salt
from jwm.planners.mcts.tree import ROOT, UNVISITED, Tree, empty_tree
from jwm.planners.noise import mix32

__all__ = ["NodeEvaluation", "search", "init_tree"]


class NodeEvaluation(NamedTuple):
    """What the search learns about a node when it expands it.

    Attributes:
      prior_logits: ``[A]``.
      value: scalar estimate of the node's value.
      invalid_actions: ``[A]`` bool.
    """

    prior_logits: jax.Array
    value: jax.Array
    invalid_actions: jax.Array


def _write(tree: Tree, index, latent, evaluation: NodeEvaluation, depth) -> Tree:
    """Fills node ``index`` (re-expanding it increments its visits, as at max_depth)."""
    return tree.replace(
        node_visits=tree.node_visits.at[index].add(1),
        raw_values=tree.raw_values.at[index].set(evaluation.value),
        node_values=tree.node_values.at[index].set(evaluation.value),
        depth=tree.depth.at[index].set(depth),
        children_prior_logits=tree.children_prior_logits.at[index].set(evaluation.prior_logits),
        invalid_actions=tree.invalid_actions.at[index].set(evaluation.invalid_actions),
        embeddings=jax.tree.map(lambda buf, x: buf.at[index].set(x), tree.embeddings, latent),
    )


def init_tree(num_nodes: int, latent, evaluation: NodeEvaluation, root_gumbel=None) -> Tree:
    """A tree whose root (node 0) holds ``latent`` and its evaluation."""
    num_actions = evaluation.prior_logits.shape[-1]
    tree = empty_tree(num_nodes, num_actions, latent, evaluation.prior_logits.dtype)
    tree = _write(tree, ROOT, latent, evaluation, 0)
    if root_gumbel is not None:
        tree = tree.replace(root_gumbel=root_gumbel)
    return tree


class _Descent(NamedTuple):
    node: jax.Array      # node the last action was selected at
    action: jax.Array
    child: jax.Array     # where that action leads, or UNVISITED
    depth: jax.Array     # edges walked so far
    path: jax.Array      # [max_depth] node * A + action per edge walked; one buffer, not
                         # two, because vmap selects the whole carry every step


def search(tree: Tree, *, model, params, key, num_simulations: int, first_simulation: int = 0,
           select: Callable, evaluate: Callable, discount: float, max_depth: int) -> Tree:
    """Runs ``num_simulations`` simulations on ``tree``.

    Args:
      tree: a tree whose root is filled (`init_tree`), possibly with earlier nodes.
      model: a `WorldModel`; ``step`` expands one action per simulation.
      select: ``select(tree, node, depth, salt) -> action`` (int32 scalar); ``salt`` is
        a uint32 that differs per simulation and node, for breaking ties.
      evaluate: ``evaluate(params, latent, key, depth) -> NodeEvaluation`` for new
        nodes (``depth``: edges from the root).
      discount: multiplies the model's discount on every edge.
      max_depth: the longest path, in edges, a simulation may walk.
      first_simulation: the index of the first simulation; node ``first_simulation + i
        + 1`` is the one simulation ``i`` creates (non-zero when a reused subtree
        already fills the first nodes).

    Returns:
      the tree after the search.
    """
    path_len = max_depth
    num_nodes = tree.num_nodes
    num_actions = tree.num_actions

    def descend(tree, salt):
        def cond(s):
            return (s.child != UNVISITED) & (s.depth < max_depth)

        def body(s):
            node = s.child
            action = select(tree, node, s.depth, node_salt(salt, node))
            return _Descent(
                node=node, action=action, child=tree.children_index[node, action],
                depth=s.depth + 1,
                path=s.path.at[s.depth].set(node * num_actions + action))

        start = _Descent(node=jnp.int32(ROOT), action=jnp.int32(0), child=jnp.int32(ROOT),
                         depth=jnp.int32(0),
                         path=jnp.full((path_len,), num_nodes * num_actions, jnp.int32))
        return jax.lax.while_loop(cond, body, start)

    def backup(tree, d: _Descent, leaf):
        """Running means along the path; one scatter per array."""
        positions = jnp.arange(path_len)
        on_path = positions < d.depth
        nodes = d.path // num_actions  # padding decodes to num_nodes: out of range
        actions = d.path % num_actions
        rewards = tree.children_rewards.at[nodes, actions].get(mode="fill", fill_value=0.0)
        discounts = tree.children_discounts.at[nodes, actions].get(mode="fill", fill_value=1.0)
        values = tree.node_values.at[nodes].get(mode="fill", fill_value=0.0)
        counts = tree.node_visits.at[nodes].get(mode="fill", fill_value=0).astype(values.dtype)

        def body(i, carry):
            ret, new_values = carry
            j = d.depth - 1 - i  # from the leaf's parent up to the root
            ret = rewards[j] + discounts[j] * ret
            new_values = new_values.at[j].set((values[j] * counts[j] + ret) / (counts[j] + 1))
            return ret, new_values

        _, new_values = jax.lax.fori_loop(0, d.depth, body,
                                          (tree.node_values[leaf], jnp.zeros_like(values)))
        # children_values[p_j, a_j] is the updated value of p_{j+1} (the leaf for the last).
        child_values = jnp.where(positions == d.depth - 1, tree.node_values[leaf],
                                 jnp.roll(new_values, -1))
        drop = jnp.where(on_path, nodes, num_nodes)  # out of range: scatter drops it
        return tree.replace(
            node_values=tree.node_values.at[drop].set(new_values, mode="drop"),
            node_visits=tree.node_visits.at[drop].add(1, mode="drop"),
            children_values=tree.children_values.at[drop, actions].set(child_values, mode="drop"),
            children_visits=tree.children_visits.at[drop, actions].add(1, mode="drop"),
        )

    def simulation(i, carry):
        tree, key = carry
        key, k_step, k_eval = jax.random.split(key, 3)
        d = descend(tree, mix32(base_salt ^ jnp.uint32(i) * jnp.uint32(0x9E3779B9)))
        parent, action = d.node, d.action
        leaf = jnp.where(d.child == UNVISITED, first_simulation + i + 1, d.child)
        parent_latent = jax.tree.map(lambda x: x[parent], tree.embeddings)
        latent, reward, model_discount = model.step(params, parent_latent, action, k_step)
        evaluation = evaluate(params, latent, k_eval, d.depth)
        # A non-finite model output must not reach a running mean (NaN would spread to
        # every ancestor, and argmax ranks NaN first): the edge becomes terminal with
        # zero reward and value, and is masked at its parent.
        bad = ~(jnp.isfinite(reward) & jnp.isfinite(model_discount)
                & jnp.isfinite(evaluation.value) & jnp.all(jnp.isfinite(evaluation.prior_logits)))
        reward = jnp.where(bad, 0.0, reward)
        model_discount = jnp.where(bad, 0.0, model_discount)
        evaluation = evaluation._replace(
            value=jnp.where(bad, 0.0, evaluation.value),
            prior_logits=jnp.where(bad, 0.0, evaluation.prior_logits))
        tree = _write(tree, leaf, latent, evaluation, d.depth)
        tree = tree.replace(
            invalid_actions=tree.invalid_actions.at[parent, action].set(
                tree.invalid_actions[parent, action] | bad),
            num_nonfinite=tree.num_nonfinite + bad.astype(jnp.int32),
            parents=tree.parents.at[leaf].set(parent),
            action_from_parent=tree.action_from_parent.at[leaf].set(action),
            children_index=tree.children_index.at[parent, action].set(leaf),
            children_rewards=tree.children_rewards.at[parent, action].set(reward),
            children_discounts=tree.children_discounts.at[parent, action].set(
                discount * model_discount),
        )
        return backup(tree, d, leaf), key

    key, k_salt = jax.random.split(key)
    base_salt = jax.random.bits(k_salt, (), jnp.uint32)
    tree, _ = jax.lax.fori_loop(0, num_simulations, simulation, (tree, key))
    return tree
