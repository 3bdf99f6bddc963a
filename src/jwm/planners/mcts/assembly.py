"""The planner every MCTS rule shares, given the rule as functions (`SearchRule`).

A rule builder (`jwm.planners.mcts.rules`) checks its own knobs and hands `assemble`
how it selects (at the root and below it), how it perturbs the root and how it acts
on the finished tree; `assemble` does the rest the same way for every rule: it checks
the shared options, evaluates nodes (priors, masks, rollouts), guards the root against
non-finite evaluations, starts from a fresh or a kept tree (`TreeReuse`), runs the one
`search` loop and reports `MCTSInfo`. Nothing here knows a rule by name.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from jwm.checks import branch, check_choice, check_int, check_real
from jwm.planners.base import Planner, make_planner, space_kind
from jwm.planners.mcts.search import NodeEvaluation, init_tree, search
from jwm.planners.mcts.subtree import extract_subtree, latents_match
from jwm.planners.mcts.tree import ROOT, UNVISITED, Tree, empty_tree, qvalues
from jwm.planners.objective import sequence_return

__all__ = ["NAME", "SEARCH_OPTIONS", "MCTSInfo", "MCTSState", "SearchRule", "TreeReuse",
           "assemble", "check_options", "logits_from_probs", "mask_logits", "no_root_noise"]

# Every MCTS planner reports under this name (its argument errors, ``mcts.plan``),
# whichever builder made it: they are one planner with different rules.
NAME = "mcts"

# The options every rule takes (see `assemble`), besides ``num_simulations``.
SEARCH_OPTIONS = ("prior_fn", "value_fn", "invalid_actions_fn", "rollout_depth",
                  "num_rollouts", "rollout_aggregate", "rollout_horizon", "discount",
                  "max_depth")


class MCTSInfo(NamedTuple):
    """What one MCTS `plan` call reports.

    Attributes:
      visit_counts: ``[A]`` int32, root visit counts.
      action_weights: ``[A]``, the search policy (visit frequencies for PUCT/UCT,
        ``softmax(logits + completed Q)`` for Gumbel).
      root_value: scalar, the root's backed-up value.
      qvalues: ``[A]``, root action values (meaningful where visited).
      tree: the `Tree` of the search.
      predicted_return: the root value again, under the name agent loops record.
      num_nonfinite: int32, expansions with a NaN/inf model output (made terminal).
    """

    visit_counts: jax.Array
    action_weights: jax.Array
    root_value: jax.Array
    qvalues: jax.Array
    tree: Tree
    predicted_return: jax.Array
    num_nonfinite: jax.Array


class MCTSState(NamedTuple):
    """Carried between calls when ``reuse_tree=True``.

    Attributes:
      tree: the last search's tree.
      action: the action taken from its root.
      valid: False before the first search.
    """

    tree: Tree
    action: jax.Array
    valid: jax.Array


def no_root_noise(root: NodeEvaluation, key) -> tuple[NodeEvaluation, None]:
    """The `SearchRule.root_noise` of a rule that searches the root as evaluated."""
    del key
    return root, None


@dataclasses.dataclass(frozen=True)
class SearchRule:
    """A selection rule as the functions `assemble` calls.

    Attributes:
      select: ``select(tree, node, depth, salt) -> action`` (int32 scalar), the
        selection below the root (`search`'s contract).
      act: ``act(tree, key) -> (action int32, weights [A])``: the action taken from the
        finished tree's root and the search policy reported (the policy target).
      root_select: the selection at the root, same signature; None: ``select``.
      root_noise: ``root_noise(evaluation, key) -> (evaluation, root_gumbel)``, the
        root's `NodeEvaluation` (unmasked logits ``[A]``) as the search should see it,
        and ``[A]`` Gumbel noise for the tree's ``root_gumbel`` or None to leave it.
    """

    select: Callable
    act: Callable
    root_select: Callable | None = None
    root_noise: Callable = no_root_noise


@dataclasses.dataclass(frozen=True)
class TreeReuse:
    """Subtree reuse, checked (see `jwm.planners.mcts.rules.tree_reuse`).

    Attributes:
      capacity: nodes of the carried tree (at least ``num_simulations + 2``).
      latent_example: any latent of the model: the layout of the carried tree.
      decay: in (0, 1], scales the kept visit counts at every step (a float or a
        traced scalar).
    """

    capacity: int
    latent_example: Any
    decay: Any


def logits_from_probs(probs):
    """``log(probs)`` with zeros floored at the smallest normal number (finite)."""
    return jnp.log(jnp.maximum(probs, jnp.finfo(probs.dtype).tiny))


def mask_logits(logits, invalid):
    """``[A]`` logits shifted to max 0, ``invalid`` ones at the most negative float."""
    # A finite floor instead of -inf: when every action is invalid (a terminal state)
    # the softmax must stay finite.
    logits = logits - logits.max()
    return jnp.where(invalid, jnp.finfo(logits.dtype).min, logits)


def check_options(builder: str, options: dict) -> dict:
    """``options`` when each is one of `SEARCH_OPTIONS`; else a TypeError naming it."""
    for name in options:
        if name not in SEARCH_OPTIONS:
            raise TypeError(f"{builder}: unexpected option {name!r} (not a knob of this "
                            f"rule); besides its own knobs it takes {list(SEARCH_OPTIONS)}")
    return options


@dataclasses.dataclass(frozen=True)
class _Options:
    """The shared options, checked."""

    num_simulations: int
    prior_fn: Callable | None
    value_fn: Callable | None
    invalid_actions_fn: Callable | None
    rollout_depth: int
    num_rollouts: int
    rollout_aggregate: str
    rollout_horizon: str
    discount: Any
    max_depth: int | None


def _options(model, *, num_simulations, prior_fn=None, value_fn=None,
             invalid_actions_fn=None, rollout_depth=0, num_rollouts=1,
             rollout_aggregate="mean", rollout_horizon="leaf", discount=1.0,
             max_depth=None) -> _Options:
    if invalid_actions_fn is None:
        invalid_actions_fn = getattr(model, "invalid_actions", None)
    for fn_name, fn in (("prior_fn", prior_fn), ("value_fn", value_fn),
                        ("invalid_actions_fn", invalid_actions_fn)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{NAME}: {fn_name} must be callable or None, got {fn!r}")
    for field in ("init", "encode", "step"):
        if not callable(getattr(model, field, None)):
            raise TypeError(f"{NAME}: model must have a callable {field!r} (a WorldModel)")
    return _Options(
        num_simulations=check_int(NAME, "num_simulations", num_simulations),
        prior_fn=prior_fn, value_fn=value_fn, invalid_actions_fn=invalid_actions_fn,
        rollout_depth=check_int(NAME, "rollout_depth", rollout_depth, minimum=0),
        num_rollouts=check_int(NAME, "num_rollouts", num_rollouts),
        rollout_aggregate=check_choice(NAME, "rollout_aggregate", rollout_aggregate,
                                       ("mean", "max")),
        rollout_horizon=check_choice(NAME, "rollout_horizon", rollout_horizon,
                                     ("leaf", "root")),
        discount=check_real(NAME, "discount", discount, low=0.0, high=1.0),
        max_depth=None if max_depth is None else check_int(NAME, "max_depth", max_depth))


def _evaluator(model, num_actions: int, o: _Options) -> Callable:
    """``evaluate(params, latent, key, depth=0) -> NodeEvaluation`` of a new node."""

    def per_action(fn_name, fn, params, latent, default, dtype):
        """``fn(params, latent)`` checked to be ``[A]`` (at trace time), or ``default``."""
        if fn is None:
            return jnp.full((num_actions,), default, dtype)
        out = jnp.asarray(fn(params, latent))
        if out.shape != (num_actions,):
            raise ValueError(f"{NAME}: {fn_name} must return shape ({num_actions},), "
                             f"got {out.shape}")
        return out.astype(dtype)

    def leaf_value(params, latent, mask, key, depth):
        if o.rollout_depth == 0:
            v = 0.0 if o.value_fn is None else o.value_fn(params, latent)
            return jnp.asarray(v, jnp.float32).reshape(())
        # Uniform over the valid actions here; deeper states reuse this mask (a
        # rollout is a cheap estimate, not a search).
        logits = jnp.where(mask, -jnp.inf, 0.0)
        logits = jnp.where(mask.all(), 0.0, logits)

        def one_rollout(k):
            k_actions, k_model = jax.random.split(k)
            actions = jax.random.categorical(k_actions, logits, shape=(o.rollout_depth,))
            steps = None if o.rollout_horizon == "leaf" else o.rollout_depth - depth
            return sequence_return(model, params, latent, actions.astype(jnp.int32), k_model,
                                   discount=o.discount, value_fn=o.value_fn, num_steps=steps)

        returns = jax.vmap(one_rollout)(jax.random.split(key, o.num_rollouts))
        return returns.max() if o.rollout_aggregate == "max" else returns.mean()

    def evaluate(params, latent, key, depth=0):
        mask = per_action("invalid_actions_fn", o.invalid_actions_fn, params, latent, False,
                          bool)
        return NodeEvaluation(
            prior_logits=per_action("prior_fn", o.prior_fn, params, latent, 0.0, jnp.float32),
            value=leaf_value(params, latent, mask, key, depth), invalid_actions=mask)

    return evaluate


def _starter(capacity: int, num_simulations: int, reuse: TreeReuse | None) -> Callable:
    """``start(plan_state, latent, root) -> (tree, filled)``: the tree to search from
    and how many of its non-root nodes are already filled."""

    def start(plan_state, latent, root):
        fresh = init_tree(capacity, latent, root, None)
        if reuse is None:
            return fresh, 0
        child = plan_state.tree.children_index[ROOT, plan_state.action]
        sub, size = extract_subtree(plan_state.tree, jnp.maximum(child, 0),
                                    keep=capacity - num_simulations)
        kept = (plan_state.valid & (child != UNVISITED)
                & latents_match(jax.tree.map(lambda x: x[ROOT], sub.embeddings), latent))
        # The kept root gets this call's latent, priors (with fresh noise) and mask.
        # ceil keeps every visited edge visited
        sub = branch(reuse.decay < 1.0, lambda: sub.replace(
            node_visits=jnp.ceil(sub.node_visits * reuse.decay).astype(jnp.int32),
            children_visits=jnp.ceil(sub.children_visits * reuse.decay).astype(jnp.int32)),
            lambda: sub)
        sub = sub.replace(
            children_prior_logits=sub.children_prior_logits.at[ROOT].set(root.prior_logits),
            invalid_actions=sub.invalid_actions.at[ROOT].set(root.invalid_actions),
            embeddings=jax.tree.map(lambda buf, x: buf.at[ROOT].set(x), sub.embeddings, latent))
        tree = jax.tree.map(lambda a, b: jnp.where(kept, a, b), sub, fresh)
        return tree, jnp.where(kept, size - 1, 0)

    return start


def assemble(model, action_space, rule: SearchRule, *, num_simulations: int,
             reuse: TreeReuse | None = None, **options) -> Planner:
    """The MCTS `Planner` of ``rule`` over a `Discrete(n)` action space.

    Args:
      model: a `WorldModel`; ``step`` expands one action per simulation.
      action_space: `Discrete(n)`. A Box is searched by `sampled_actions`.
      rule: the rule's functions (`SearchRule`).
      num_simulations: simulations per `plan` call.
      reuse: subtree reuse (`TreeReuse`), or None to search a fresh tree every call.
      **options: the shared options, `SEARCH_OPTIONS`:
        ``prior_fn(params, latent) -> [n]`` logits (uniform when None);
        ``value_fn(params, latent) -> scalar`` leaf values (0 when None);
        ``invalid_actions_fn(params, latent) -> [n] bool`` masks actions at the root
        and at every node (default: the model's own ``invalid_actions``);
        ``rollout_depth`` uniformly random valid actions through the model before
        ``value_fn`` bootstraps (0: none), over ``num_rollouts`` rollouts combined by
        ``rollout_aggregate`` (``"mean"`` or ``"max"``), counted from every leaf
        (``rollout_horizon="leaf"``) or from the root (``"root"``);
        ``discount`` multiplies the model's discount; ``max_depth`` bounds the
        simulations' depth in edges (default: the tree's capacity - 1).

    Returns:
      ``Planner`` whose ``plan(plan_state, params, latent, key)`` returns ``(action
      int32, plan_state, MCTSInfo)``; ``plan_state`` is ``()`` without reuse, an
      `MCTSState` with it.
    """
    if space_kind(action_space, NAME) != "discrete":
        raise TypeError(f"{NAME}: a rule builder searches a Discrete action space; for a "
                        f"Box wrap it: sampled_actions(builder), got {action_space!r}")
    num_actions = int(action_space.n)
    o = _options(model, num_simulations=num_simulations, **options)
    capacity = o.num_simulations + 1 if reuse is None else reuse.capacity
    max_depth = capacity - 1 if o.max_depth is None else o.max_depth
    evaluate = _evaluator(model, num_actions, o)
    start = _starter(capacity, o.num_simulations, reuse)

    def init(key):
        del key
        if reuse is None:
            return ()
        return MCTSState(tree=empty_tree(capacity, num_actions, reuse.latent_example),
                         action=jnp.int32(0), valid=jnp.array(False))

    def plan(plan_state, params, latent, key):
        k_root, k_noise, k_search, k_act = jax.random.split(key, 4)
        root = evaluate(params, latent, k_root)
        # A non-finite root evaluation would make every score NaN (argmax ranks NaN
        # first, so it could pick a masked action): uniform priors and value 0 instead,
        # counted like non-finite expansions.
        root_bad = ~(jnp.isfinite(root.value) & jnp.all(jnp.isfinite(root.prior_logits)))
        root = root._replace(
            value=jnp.where(root_bad, 0.0, root.value),
            prior_logits=jnp.where(root_bad, 0.0, root.prior_logits))
        root, root_gumbel = rule.root_noise(root, k_noise)
        root = root._replace(prior_logits=mask_logits(root.prior_logits, root.invalid_actions))
        tree, filled = start(plan_state, latent, root)
        if root_gumbel is not None:
            tree = tree.replace(root_gumbel=root_gumbel)
        tree = search(tree, model=model, params=params, key=k_search,
                      num_simulations=o.num_simulations, first_simulation=filled,
                      select=rule.select, evaluate=evaluate, discount=o.discount,
                      max_depth=max_depth, root_select=rule.root_select)
        action, weights = rule.act(tree, k_act)
        # Non-finite expansions mask their edges at the root; when that leaves no
        # action, fall back to the legal actions the search started with.
        legal = ~root.invalid_actions
        stuck = tree.invalid_actions[ROOT].all() & legal.any()
        fallback = legal / jnp.maximum(legal.sum(), 1)
        action = jnp.where(stuck, jnp.argmax(legal).astype(action.dtype), action)
        weights = jnp.where(stuck, fallback, weights)
        if reuse is not None:
            plan_state = MCTSState(tree=tree, action=action, valid=jnp.array(True))
        info = MCTSInfo(visit_counts=tree.children_visits[ROOT], action_weights=weights,
                        root_value=tree.node_values[ROOT], qvalues=qvalues(tree, ROOT), tree=tree,
                        predicted_return=tree.node_values[ROOT],
                        num_nonfinite=tree.num_nonfinite + root_bad.astype(jnp.int32))
        return action, plan_state, info

    return make_planner(NAME, init, plan)
