"""Tree search: simulations in a `fori_loop`, descent and backup in `while_loop`s.

Per simulation: descend from the root by the selection rule until an unexpanded action
(or ``max_depth``), expand it with one ``model.step``, evaluate the new node, and back
the return up the path.

`search` is written for one root, and `jax.custom_batching.custom_vmap` routes a `vmap`
of it to a form whose loops run over the batch axis explicitly (every step is the
one-root step, vmapped). Why: under `vmap`, a `while_loop` whose trip count differs
across the batch selects between old and new carry on every iteration, so a loop that
carried the tree (or any buffer of ``max_depth`` or ``num_nodes`` entries) would copy
it at every descent or backup step, and search cost would grow faster than the
simulation budget. Written over the batch, each loop runs while any root is still
walking, its carry is a few scalars per root, and the backup walks from the leaf up
through ``parents``, writing the tree by scatters whose rows for finished roots fall
out of range and are dropped: O(batch) per step, whatever the tree's size.
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from jwm.keys import as_typed_key
from jwm.noise import mix32
from jwm.planners.mcts.selection import node_salt
from jwm.planners.mcts.tree import NO_PARENT, ROOT, UNVISITED, Tree, empty_tree

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


class _Backup(NamedTuple):
    index: jax.Array             # node whose value was just updated
    value: jax.Array             # its new value
    ret: jax.Array               # the return from that node
    node_values: jax.Array       # [N]
    node_visits: jax.Array       # [N]
    children_values: jax.Array   # [N, A]
    children_visits: jax.Array   # [N, A]


def search(tree: Tree, *, model, params, key, num_simulations: int, first_simulation=0,
           select: Callable, evaluate: Callable, discount: float, max_depth: int,
           root_select: Callable | None = None) -> Tree:
    """Runs ``num_simulations`` simulations on ``tree`` (one root; `vmap` for a batch).

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
      root_select: selection at the root (depth 0), same signature; ``select`` when
        None. Given separately, ``select`` is only called below the root.

    Returns:
      the tree after the search.
    """
    # The loops index split keys (keys[..., 0]), which only typed keys allow.
    key = as_typed_key(key, "key", where="search")
    options = dict(model=model, num_simulations=num_simulations, select=select,
                   root_select=select if root_select is None else root_select,
                   evaluate=evaluate, discount=discount, max_depth=max_depth)

    def single(tree, params, key, first):
        return _search(tree, params, jax.tree.map(lambda _: None, params), key, first,
                       batched=False, **options)

    first = jnp.asarray(first_simulation, jnp.int32)
    # Values the callbacks close over (traced hyperparameters, a true model's env
    # parameters) become explicit arguments: custom_vmap refuses batched closures, and
    # when they are batched (a sweep vmaps over them) the search takes JAX's own
    # batching of the single search instead of the batched loops below.
    converted, consts = jax.closure_convert(single, tree, params, key, first)

    @jax.custom_batching.custom_vmap
    def one(tree, params, key, first, consts):
        return converted(tree, params, key, first, *consts)

    @one.def_vmap
    def many(axis_size, in_batched, tree, params, key, first, consts):
        tree_b, params_b, key_b, first_b, consts_b = in_batched
        if any(jax.tree.leaves(consts_b)):
            axes = jax.tree.map(lambda b: 0 if b else None, list(in_batched))
            out = jax.vmap(lambda t, p, k, f, c: converted(t, p, k, f, *c),
                           in_axes=tuple(axes))(tree, params, key, first, consts)
            return out, jax.tree.map(lambda _: True, out)
        if axis_size == 1:  # the single search's loops, without masking
            def first_of(x, b):
                return x[0] if b else x

            out = one(*jax.tree.map(first_of, (tree, params, key, first, consts),
                                    tuple(in_batched)))
            return jax.tree.map(lambda x: x[None], out), jax.tree.map(lambda _: True, out)

        def batch(x, b):
            return x if b else jnp.broadcast_to(x, (axis_size,) + x.shape)

        out = _search(jax.tree.map(batch, tree, tree_b), params,
                      jax.tree.map(lambda b: 0 if b else None, params_b),
                      batch(key, key_b), batch(first, first_b), batched=True, **options)
        return out, jax.tree.map(lambda _: True, out)

    return one(tree, params, key, first, consts)


def _search(tree: Tree, params, params_axes, key, first, *, batched: bool, model,
            num_simulations, select, root_select, evaluate, discount, max_depth) -> Tree:
    """The search on one root, or on a batch of them (leading axis) when ``batched``.

    Every step is written for one root; with ``batched`` it is `vmap`-ed and the loops
    run while any root is still walking, the finished ones masked: a step keeps their
    state, and their tree writes go to an out-of-range node, which the scatter drops.
    """
    num_nodes = tree.num_nodes
    if batched:
        each = jax.vmap
        each_p = lambda f: jax.vmap(f, (0, params_axes) + (0,) * 6)  # noqa: E731
        anyof = lambda f: lambda *a: jnp.any(jax.vmap(f)(*a))  # noqa: E731
    else:
        each = each_p = anyof = lambda f: f

    def keep(go, new, old):
        """``new`` where ``go``; in a single search the loop runs only while ``go``."""
        return jnp.where(go, new, old) if batched else new

    def walking(s: _Descent):
        return (s.child != UNVISITED) & (s.depth < max_depth)

    def descent_step(tree, salt, s: _Descent):
        go = walking(s)
        node = keep(go, s.child, s.node)
        action = keep(go, select(tree, node, s.depth, node_salt(salt, node)), s.action)
        child = keep(go, tree.children_index[node, action], s.child)
        return _Descent(node=node, action=action, child=child, depth=s.depth + go)

    def descent_start(tree, salt):
        """The root's step, outside the loop: every simulation takes it."""
        root = jnp.int32(ROOT)
        action = root_select(tree, root, jnp.int32(0), node_salt(salt, root))
        return _Descent(node=root, action=action, child=tree.children_index[root, action],
                        depth=jnp.int32(1))

    def descend(tree, salt):
        return jax.lax.while_loop(lambda s: anyof(walking)(s),
                                  lambda s: each(descent_step)(tree, salt, s),
                                  each(descent_start)(tree, salt))

    def climbing(tree, s: _Backup):
        return tree.parents[s.index] != NO_PARENT

    def backup_step(tree, s: _Backup):
        """Updates the parent of ``s.index``. ``tree`` is the tree before the backup:
        what the backup writes (values and visits) is read from ``s``."""
        parent = tree.parents[s.index]
        go = parent != NO_PARENT
        parent = keep(go, parent, ROOT)
        action = keep(go, tree.action_from_parent[s.index], 0)
        ret = (tree.children_rewards[parent, action]
               + tree.children_discounts[parent, action] * s.ret)
        # Read once (the barrier stops XLA from re-reading inside several fusions, some
        # unordered with the scatter below, which would make it copy the array), and
        # written as set(read + 1) rather than add(1), so that the scatter depends on
        # the read: XLA then updates in place instead of copying [N] per step.
        visits, old = jax.lax.optimization_barrier(
            (s.node_visits[parent], s.node_values[parent]))
        count = visits.astype(old.dtype)
        value = (old * count + ret) / (count + 1)
        at = keep(go, parent, num_nodes)  # out of range: the scatter drops it
        return _Backup(
            index=keep(go, parent, s.index), value=keep(go, value, s.value),
            ret=keep(go, ret, s.ret),
            node_values=s.node_values.at[at].set(value, mode="drop"),
            node_visits=s.node_visits.at[at].set(visits + 1, mode="drop"),
            children_values=s.children_values.at[at, action].set(s.value, mode="drop"),
            children_visits=s.children_visits.at[at, action].add(1, mode="drop"))

    def backup_start(tree, leaf):
        value = tree.node_values[leaf]
        return _Backup(index=leaf, value=value, ret=value, node_values=tree.node_values,
                       node_visits=tree.node_visits, children_values=tree.children_values,
                       children_visits=tree.children_visits)

    def backup(tree: Tree, leaf):
        """Running means from the leaf's parent up to the root, through ``parents``."""
        s = jax.lax.while_loop(lambda s: anyof(climbing)(tree, s),
                               lambda s: each(backup_step)(tree, s),
                               each(backup_start)(tree, leaf))
        return tree.replace(node_values=s.node_values, node_visits=s.node_visits,
                            children_values=s.children_values,
                            children_visits=s.children_visits)

    expand = functools.partial(_expand, model=model, evaluate=evaluate, discount=discount)

    def simulation(i, carry):
        tree, key = carry
        keys = each(lambda k: jax.random.split(k, 3))(key)
        key, k_step, k_eval = keys[..., 0], keys[..., 1], keys[..., 2]
        d = descend(tree, mix32(base_salt ^ jnp.uint32(i) * jnp.uint32(0x9E3779B9)))
        leaf = jnp.where(d.child == UNVISITED, first + i + 1, d.child)
        tree = each_p(expand)(tree, params, d.node, d.action, leaf, d.depth, k_step, k_eval)
        return backup(tree, leaf), key

    keys = each(jax.random.split)(key)
    key, k_salt = keys[..., 0], keys[..., 1]
    base_salt = each(lambda k: jax.random.bits(k, (), jnp.uint32))(k_salt)
    tree, _ = jax.lax.fori_loop(0, num_simulations, simulation, (tree, key))
    return tree


def _expand(tree: Tree, params, parent, action, leaf, depth, k_step, k_eval, *, model,
            evaluate, discount) -> Tree:
    """Steps the model from ``parent`` by ``action`` and writes node ``leaf`` (one root)."""
    num_nodes = tree.num_nodes
    parent_latent = jax.tree.map(lambda x: x[parent], tree.embeddings)
    latent, reward, model_discount = model.step(params, parent_latent, action, k_step)
    evaluation = evaluate(params, latent, k_eval, depth)
    # A non-finite model output must not reach a running mean (NaN would spread to
    # every ancestor, and argmax ranks NaN first): the edge becomes terminal with
    # zero reward and value, and is masked at its parent.
    bad = ~(jnp.isfinite(reward) & jnp.isfinite(model_discount)
            & jnp.isfinite(evaluation.value)
            & jnp.all(jnp.isfinite(evaluation.prior_logits)))
    reward = jnp.where(bad, 0.0, reward)
    model_discount = jnp.where(bad, 0.0, model_discount)
    evaluation = evaluation._replace(
        value=jnp.where(bad, 0.0, evaluation.value),
        prior_logits=jnp.where(bad, 0.0, evaluation.prior_logits))
    tree = _write(tree, leaf, latent, evaluation, depth)
    return tree.replace(
        # Masks the edge only when bad (otherwise the write goes out of range and is
        # dropped): no read of the array just written, which would make XLA copy it.
        invalid_actions=tree.invalid_actions.at[
            jnp.where(bad, parent, num_nodes), action].set(True, mode="drop"),
        num_nonfinite=tree.num_nonfinite + bad.astype(jnp.int32),
        parents=tree.parents.at[leaf].set(parent),
        action_from_parent=tree.action_from_parent.at[leaf].set(action),
        children_index=tree.children_index.at[parent, action].set(leaf),
        children_rewards=tree.children_rewards.at[parent, action].set(reward),
        children_discounts=tree.children_discounts.at[parent, action].set(
            discount * model_discount),
    )
