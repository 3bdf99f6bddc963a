"""Selection rules: which action a simulation follows at a node.

Each rule scores the ``A`` actions of a node (a `Row`, see `jwm.planners.mcts.rows`);
its ``*_select`` function, the ``select``/``root_select`` a rule builder hands to the
search, takes the masked argmax. Exact ties are broken at random by a per-simulation
salt: a fixed order (lowest index first) would bias every tie the same way, and
integer-valued returns tie often. mctx adds 1e-7 uniform noise to the scores instead;
the two agree whenever that noise could not decide.

Every ``*_select`` has the search's signature ``(tree, node, depth, salt) -> action``
(int32 scalar); a rule fixes its knobs with `functools.partial`.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from jwm.noise import mix32
from jwm.planners.mcts.qtransforms import (completed_by_mix_value_row,
                                           normalized_by_parent_and_siblings_row)
from jwm.planners.mcts.rows import Row
from jwm.planners.mcts.tree import Tree

__all__ = ["masked_argmax", "node_salt", "puct_row", "uct_row", "gumbel_considered_row",
           "gumbel_root_row", "gumbel_interior_row", "considered_visits_table",
           "puct_select", "uct_select", "gumbel_root_select", "gumbel_interior_select"]


def masked_argmax(scores, invalid, salt=None):
    """Index of the best valid score; action 0 if every action is invalid.

    With a uint32 ``salt``, exact ties (infinities included) go to a pseudo-random one
    of the tied actions, decided by hashing the salt with the action index. ``scores``
    and ``invalid`` are ``[A]`` arrays or `Row`s.
    """
    invalid = Row.of(invalid)
    scores = Row.where(invalid, -jnp.inf, Row.of(scores))
    if salt is None:
        return scores.argmax()
    tied = (scores == scores.max()) & ~invalid
    order = mix32(salt + Row.arange(len(scores), jnp.uint32) * jnp.uint32(0x9E3779B9))
    pick = Row.where(tied, order, jnp.uint32(0)).argmax()
    return jnp.where(tied.any(), pick, scores.argmax())


def node_salt(simulation_salt, node):
    """The tie-break salt of one selection: depends on the simulation and the node."""
    return mix32(simulation_salt ^ (node.astype(jnp.uint32) * jnp.uint32(0x85EBCA6B)))


# ------------------------------------------------------------------------ scores


def puct_row(tree: Tree, node, *, pb_c_init: float, pb_c_base: float) -> Row:
    """AlphaZero/MuZero PUCT scores of ``node``'s ``A`` actions: normalised Q plus a
    prior bonus shrinking with visits.

    ``Q(s,a) + P(s,a) * sqrt(N(s)) / (1 + N(s,a)) * (c_init + log((N(s) + c_base + 1) / c_base))``,
    with ``Q`` from `normalized_by_parent_and_siblings_row` and ``P`` the softmax of
    the node's prior logits. ``node`` is an int32 scalar; ``.array()`` gives ``[A]``.
    """
    visits = Row.of(tree.children_visits[node])
    n = tree.node_visits[node]
    c = pb_c_init + jnp.log((n + pb_c_base + 1.0) / pb_c_base)
    prior = Row.of(tree.children_prior_logits[node]).softmax()
    bonus = jnp.sqrt(n) * c * prior / (visits + 1)
    return normalized_by_parent_and_siblings_row(tree, node) + bonus


def uct_row(tree: Tree, node, *, exploration: float) -> Row:
    """UCB1 scores of ``node``'s ``A`` actions on min-max normalised Q; unvisited
    actions score +inf (they are tried first).

    ``Q(s,a) + c * sqrt(log N(s) / N(s,a))``, with Q scaled to [0, 1] over the node
    and its children so one ``c`` (``exploration``) serves any reward scale.
    """
    visits = Row.of(tree.children_visits[node])
    n = jnp.maximum(visits.sum(), 1).astype(jnp.float32)
    bonus = exploration * (jnp.log(n) / Row.maximum(visits, 1)).sqrt()
    score = normalized_by_parent_and_siblings_row(tree, node) + bonus
    return Row.where(visits == 0, jnp.inf, score)


def considered_visits_table(max_considered: int, num_simulations: int) -> np.ndarray:
    """Sequential halving's schedule: ``[max_considered + 1, num_simulations]`` int32.

    Row ``m`` lists, for each simulation, the visit count an action must have to be
    visited next when ``m`` actions are considered. Each phase visits every surviving
    action equally, then keeps the better half (at least two), as in Karnin et al.
    2013 with the budget split of Gumbel MuZero.
    """
    table = np.zeros((max_considered + 1, num_simulations), np.int32)
    for m in range(max_considered + 1):
        if m <= 1:
            table[m] = np.arange(num_simulations)
            continue
        phases = math.ceil(math.log2(m))
        schedule, visits, alive = [], [0] * m, m
        while len(schedule) < num_simulations:
            rounds = max(1, int(num_simulations / (phases * alive)))
            for _ in range(rounds):
                schedule.extend(visits[:alive])
                for i in range(alive):
                    visits[i] += 1
            alive = max(2, alive // 2)
        table[m] = schedule[:num_simulations]
    return table


def gumbel_considered_row(considered_visit, gumbel, logits, completed_q, visits) -> Row:
    """Gumbel root scores: ``gumbel + logits + completed_q`` (logits shifted to max 0),
    where only actions at ``considered_visit`` visits may win (the others get -inf).

    ``considered_visit`` is an int32 scalar; ``gumbel``, ``logits``, ``completed_q``
    and ``visits`` are ``[A]`` arrays or `Row`s.
    """
    logits = Row.of(logits)
    logits = logits - logits.max()
    allowed = Row.where(Row.of(visits) == considered_visit, 0.0, -jnp.inf)
    return Row.maximum(-1e9, Row.of(gumbel) + logits + Row.of(completed_q)) + allowed


def gumbel_root_row(tree: Tree, node, table, max_considered: int, *, value_scale,
                    maxvisit_init) -> Row:
    """Gumbel-top-k with sequential halving at the root: `gumbel_considered_row` with
    the visit count the schedule ``table`` (`considered_visits_table`, as a
    ``[max_considered + 1, S]`` array) sets for this simulation, over at most
    ``max_considered`` valid actions, and the tree's ``root_gumbel`` noise."""
    visits = Row.of(tree.children_visits[node])
    completed_q = completed_by_mix_value_row(tree, node, value_scale=value_scale,
                                             maxvisit_init=maxvisit_init)
    num_valid = (~Row.of(tree.invalid_actions[node])).astype(jnp.int32).sum()
    considered = jnp.minimum(max_considered, num_valid)
    considered_visit = table[considered, visits.sum()]
    return gumbel_considered_row(considered_visit, Row.of(tree.root_gumbel),
                                 tree.children_prior_logits[node], completed_q, visits)


def gumbel_interior_row(tree: Tree, node, *, value_scale, maxvisit_init) -> Row:
    """Gumbel MuZero's deterministic interior scores: match the visit frequencies to
    ``softmax(logits + completed Q)``, i.e. ``probs(a) - N(s,a) / (1 + N(s))``."""
    visits = Row.of(tree.children_visits[node])
    completed_q = completed_by_mix_value_row(tree, node, value_scale=value_scale,
                                             maxvisit_init=maxvisit_init)
    probs = (Row.of(tree.children_prior_logits[node]) + completed_q).softmax()
    return probs - visits / (1 + visits.sum())


# ---------------------------------------------------------------- action selection


def puct_select(tree: Tree, node, depth, salt, *, pb_c_init: float, pb_c_base: float):
    """The action of best `puct_row` score at ``node``, ties broken by ``salt``."""
    del depth
    scores = puct_row(tree, node, pb_c_init=pb_c_init, pb_c_base=pb_c_base)
    return masked_argmax(scores, tree.invalid_actions[node], salt)


def uct_select(tree: Tree, node, depth, salt, *, exploration: float):
    """The action of best `uct_row` score at ``node``, ties broken by ``salt``."""
    del depth
    scores = uct_row(tree, node, exploration=exploration)
    return masked_argmax(scores, tree.invalid_actions[node], salt)


def gumbel_root_select(tree: Tree, node, depth, salt, *, table, max_considered: int,
                       value_scale, maxvisit_init):
    """The root action of best `gumbel_root_row` score. The root's Gumbel noise is its
    tie-break, so ``salt`` is unused."""
    del depth, salt
    scores = gumbel_root_row(tree, node, table, max_considered, value_scale=value_scale,
                             maxvisit_init=maxvisit_init)
    return masked_argmax(scores, tree.invalid_actions[node])


def gumbel_interior_select(tree: Tree, node, depth, salt, *, value_scale, maxvisit_init):
    """The interior action of best `gumbel_interior_row` score. Deterministic by design,
    as in mctx: ``salt`` is unused."""
    del depth, salt
    scores = gumbel_interior_row(tree, node, value_scale=value_scale,
                                 maxvisit_init=maxvisit_init)
    return masked_argmax(scores, tree.invalid_actions[node], None)
