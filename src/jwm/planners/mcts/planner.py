"""`mcts`: Monte Carlo tree search as a `Planner`, with UCT, PUCT and Gumbel rules."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from jwm.checks import branch, check_choice, check_int, check_real
from jwm.planners.base import Planner, make_planner, space_kind
from jwm.planners.mcts import selection
from jwm.planners.mcts.continuous import SampledLatent, sampled_action_model, uniform_proposal
from jwm.planners.mcts.qtransforms import completed_by_mix_value
from jwm.planners.mcts.search import NodeEvaluation, init_tree, search
from jwm.planners.mcts.subtree import extract_subtree, latents_match
from jwm.planners.mcts.tree import ROOT, UNVISITED, Tree, empty_tree, qvalues
from jwm.planners.objective import sequence_return
from jwm.spaces import Discrete

__all__ = ["mcts", "MCTSInfo", "MCTSState", "RULES"]

RULES = ("puct", "gumbel", "uct")


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


def _logits_from_probs(probs):
    return jnp.log(jnp.maximum(probs, jnp.finfo(probs.dtype).tiny))


def _mask_logits(logits, invalid):
    # A finite floor instead of -inf: when every action is invalid (a terminal state)
    # the softmax must stay finite.
    logits = logits - logits.max()
    return jnp.where(invalid, jnp.finfo(logits.dtype).min, logits)


def mcts(model, action_space, *, num_simulations: int, rule: str = "puct",
         prior_fn: Callable | None = None, value_fn: Callable | None = None,
         invalid_actions_fn: Callable | None = None, rollout_depth: int = 0,
         num_rollouts: int = 1, rollout_aggregate: str = "mean",
         rollout_horizon: str = "leaf",
         discount: float = 1.0, max_depth: int | None = None,
         dirichlet_fraction: float = 0.25, dirichlet_alpha: float = 0.3,
         pb_c_init: float = 1.25, pb_c_base: float = 19652.0, uct_c: float = 1.4142135,
         gumbel_scale: float = 1.0, max_num_considered_actions: int = 16,
         value_scale: float = 0.1, maxvisit_init: float = 50.0,
         temperature: float = 1.0, reuse_tree: bool = False, latent_example: Any = None,
         tree_capacity: int | None = None, reuse_decay: float = 0.5,
         num_sampled_actions: int = 8,
         proposal_fn: Callable | None = None) -> Planner:
    """Builds an MCTS planner over a `Discrete(n)` or a `Box` action space.

    Box actions (sampled MuZero): every node draws ``num_sampled_actions`` candidate
    actions from ``proposal_fn(params, latent, key) -> [K, *action_shape]`` (uniform
    in the box when None) and the search runs over them with uniform priors; the
    returned action is the chosen candidate. Rollouts then act uniformly at random.

    Leaves are evaluated by ``value_fn`` (``value_fn(params, latent) -> scalar``),
    after ``rollout_depth`` uniformly random valid actions through the model when
    ``rollout_depth > 0`` (classic MCTS; the discounted rollout return plus the
    bootstrapped ``value_fn``, or 0 without one), over ``num_rollouts`` independent
    rollouts run in parallel and combined by ``rollout_aggregate``: ``"mean"`` (the
    random policy's value) or ``"max"`` (what the best random continuation achieves,
    as in single-player MCTS; a far sharper signal where random play fails fast).
    ``rollout_horizon="leaf"`` rolls out ``rollout_depth`` steps from every leaf;
    ``"root"`` stops rollouts ``rollout_depth`` steps from the root, so every
    simulation looks equally far ahead (with always-negative rewards, leaf-relative
    rollouts charge deeper branches for more steps). Priors come from ``prior_fn``
    (``prior_fn(params, latent) -> [n]`` logits), uniform when None.

    Rules:
      ``"puct"``: AlphaZero/MuZero PUCT with min-max normalised Q, Dirichlet noise at
        the root (``dirichlet_fraction`` of ``Dir(dirichlet_alpha)``), ``pb_c_init``,
        ``pb_c_base``; acts by sampling visit counts ``** (1 / temperature)``.
      ``"gumbel"``: Gumbel MuZero. Gumbel-top-k at the root with sequential halving
        over ``max_num_considered_actions``, completed Q-values (``value_scale``,
        ``maxvisit_init``), deterministic interior selection; acts by the Gumbel
        argmax (noise scaled by ``gumbel_scale``).
      ``"uct"``: UCB1 (``uct_c``) on normalised Q, unvisited actions first; acts like
        PUCT. Meant for rollouts: set ``rollout_depth``.

    Options: ``invalid_actions_fn(params, latent) -> [n] bool`` masks actions at the
    root and at every node (default: the model's own ``invalid_actions``, which
    `true_model` sets for board games); ``max_depth`` bounds simulation depth (edges);
    ``discount`` multiplies the model's discount (0 at termination, -1 between the
    players of a two-player game).

    Subtree reuse (``reuse_tree=True``, PUCT and UCT): the subtree under the action
    taken becomes the next call's root, its statistics kept, when its latent matches
    the new one (exactly for integers, to 1e-5 for floats; a mismatch, as from a
    stochastic model, starts afresh). The tree then holds ``tree_capacity`` nodes
    (default ``2 * num_simulations + 1``), keeping at most ``tree_capacity -
    num_simulations`` old ones, and ``latent_example`` (any latent of the model, e.g.
    ``env.reset(key)[0]`` for the true model) fixes the layout of ``plan_state``.
    Kept visit counts are scaled by ``reuse_decay`` in (0, 1] at every step (values
    are kept): without decay the inherited counts dominate the new root and the search
    reacts slowly. On CartPole with UCT, no decay reached 500 on 3/8 seeds at 32
    simulations; a decay of 0.5 reached 8/8 (``experiments/mcts_true_model.py``).

    Hyperparameter names follow mctx. ``plan(plan_state, params, latent, key)``
    returns ``(action int32, plan_state, MCTSInfo)``; ``plan_state`` is ``()``
    without reuse, an `MCTSState` with it.
    """
    name = "mcts"
    if space_kind(action_space, name) == "box":
        return _continuous(model, action_space, num_sampled_actions=num_sampled_actions,
                           proposal_fn=proposal_fn, prior_fn=prior_fn,
                           invalid_actions_fn=invalid_actions_fn, reuse_tree=reuse_tree,
                           num_simulations=num_simulations, rule=rule, value_fn=value_fn,
                           rollout_depth=rollout_depth, num_rollouts=num_rollouts,
                           rollout_aggregate=rollout_aggregate,
                           rollout_horizon=rollout_horizon, discount=discount,
                           max_depth=max_depth, dirichlet_fraction=dirichlet_fraction,
                           dirichlet_alpha=dirichlet_alpha, pb_c_init=pb_c_init,
                           pb_c_base=pb_c_base, uct_c=uct_c, gumbel_scale=gumbel_scale,
                           max_num_considered_actions=max_num_considered_actions,
                           value_scale=value_scale, maxvisit_init=maxvisit_init,
                           temperature=temperature)
    if proposal_fn is not None:
        raise ValueError(f"{name}: proposal_fn is for Box action spaces; got {action_space!r}")
    num_actions = int(action_space.n)
    if invalid_actions_fn is None:
        invalid_actions_fn = getattr(model, "invalid_actions", None)
    num_simulations = check_int(name, "num_simulations", num_simulations)
    rule = check_choice(name, "rule", rule, RULES)
    rollout_depth = check_int(name, "rollout_depth", rollout_depth, minimum=0)
    num_rollouts = check_int(name, "num_rollouts", num_rollouts)
    rollout_aggregate = check_choice(name, "rollout_aggregate", rollout_aggregate, ("mean", "max"))
    rollout_horizon = check_choice(name, "rollout_horizon", rollout_horizon, ("leaf", "root"))
    discount = check_real(name, "discount", discount, low=0.0, high=1.0)
    if max_depth is not None:
        max_depth = check_int(name, "max_depth", max_depth)
    dirichlet_fraction = check_real(name, "dirichlet_fraction", dirichlet_fraction, low=0.0, high=1.0)
    dirichlet_alpha = check_real(name, "dirichlet_alpha", dirichlet_alpha, low=0.0, low_open=True)
    pb_c_init = check_real(name, "pb_c_init", pb_c_init, low=0.0)
    pb_c_base = check_real(name, "pb_c_base", pb_c_base, low=0.0, low_open=True)
    uct_c = check_real(name, "uct_c", uct_c, low=0.0)
    gumbel_scale = check_real(name, "gumbel_scale", gumbel_scale, low=0.0)
    max_considered = check_int(name, "max_num_considered_actions", max_num_considered_actions)
    value_scale = check_real(name, "value_scale", value_scale, low=0.0, low_open=True)
    maxvisit_init = check_real(name, "maxvisit_init", maxvisit_init, low=0.0)
    temperature = check_real(name, "temperature", temperature, low=0.0)
    reuse_decay = check_real(name, "reuse_decay", reuse_decay, low=0.0, high=1.0, low_open=True)
    if reuse_tree:
        if rule == "gumbel":
            raise ValueError(f"{name}: reuse_tree is not supported with rule='gumbel' "
                             "(sequential halving schedules a fresh root); use 'puct' or 'uct'")
        if latent_example is None:
            raise ValueError(f"{name}: reuse_tree=True needs latent_example (any latent of "
                             "the model) to lay out the carried tree")
        capacity = 2 * num_simulations + 1 if tree_capacity is None else check_int(
            name, "tree_capacity", tree_capacity, minimum=num_simulations + 2)
    else:
        capacity = num_simulations + 1
    if max_depth is None:
        max_depth = capacity - 1
    for fn_name, fn in (("prior_fn", prior_fn), ("value_fn", value_fn),
                        ("invalid_actions_fn", invalid_actions_fn)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name}: {fn_name} must be callable or None, got {fn!r}")
    for field in ("init", "encode", "step"):
        if not callable(getattr(model, field, None)):
            raise TypeError(f"{name}: model must have a callable {field!r} (a WorldModel)")

    def per_action(fn_name, fn, params, latent, default, dtype):
        """``fn(params, latent)`` checked to be ``[A]`` (at trace time), or ``default``."""
        if fn is None:
            return jnp.full((num_actions,), default, dtype)
        out = jnp.asarray(fn(params, latent))
        if out.shape != (num_actions,):
            raise ValueError(f"{name}: {fn_name} must return shape ({num_actions},), "
                             f"got {out.shape}")
        return out.astype(dtype)

    def priors(params, latent):
        return per_action("prior_fn", prior_fn, params, latent, 0.0, jnp.float32)

    def invalid(params, latent):
        return per_action("invalid_actions_fn", invalid_actions_fn, params, latent, False, bool)

    def leaf_value(params, latent, mask, key, depth):
        if rollout_depth == 0:
            v = 0.0 if value_fn is None else value_fn(params, latent)
            return jnp.asarray(v, jnp.float32).reshape(())
        # Uniform over the valid actions here; deeper states reuse this mask (a
        # rollout is a cheap estimate, not a search).
        logits = jnp.where(mask, -jnp.inf, 0.0)
        logits = jnp.where(mask.all(), 0.0, logits)

        def one_rollout(k):
            k_actions, k_model = jax.random.split(k)
            actions = jax.random.categorical(k_actions, logits, shape=(rollout_depth,))
            steps = None if rollout_horizon == "leaf" else rollout_depth - depth
            return sequence_return(model, params, latent, actions.astype(jnp.int32), k_model,
                                   discount=discount, value_fn=value_fn, num_steps=steps)

        returns = jax.vmap(one_rollout)(jax.random.split(key, num_rollouts))
        return returns.max() if rollout_aggregate == "max" else returns.mean()

    def evaluate(params, latent, key, depth=0):
        mask = invalid(params, latent)
        return NodeEvaluation(prior_logits=priors(params, latent),
                              value=leaf_value(params, latent, mask, key, depth),
                              invalid_actions=mask)

    table = (jnp.asarray(selection.considered_visits_table(max_considered, num_simulations))
             if rule == "gumbel" else None)

    def select(tree, node, depth, salt):
        if rule == "puct":
            scores = selection.puct_row(tree, node, pb_c_init=pb_c_init, pb_c_base=pb_c_base)
        elif rule == "uct":
            scores = selection.uct_row(tree, node, exploration=uct_c)
        else:  # below the root; the search calls root_select there
            scores = selection.gumbel_interior_row(tree, node, value_scale=value_scale,
                                                   maxvisit_init=maxvisit_init)
        # Gumbel's scores carry their own tie-break (the root's Gumbel noise; interior
        # selection is deterministic by design, as in mctx), so only PUCT/UCT hash one.
        return selection.masked_argmax(scores, tree.invalid_actions[node],
                                       None if rule == "gumbel" else salt)

    def gumbel_root_select(tree, node, depth, salt):
        del depth, salt
        scores = selection.gumbel_root_row(tree, node, table, max_considered,
                                           value_scale=value_scale, maxvisit_init=maxvisit_init)
        return selection.masked_argmax(scores, tree.invalid_actions[node])

    def init(key):
        del key
        if not reuse_tree:
            return ()
        return MCTSState(tree=empty_tree(capacity, num_actions, latent_example),
                         action=jnp.int32(0), valid=jnp.array(False))

    def start(plan_state, latent, root):
        """The tree to search from and how many of its nodes are already filled."""
        fresh = init_tree(capacity, latent, root, None)
        if not reuse_tree:
            return fresh, 0
        child = plan_state.tree.children_index[ROOT, plan_state.action]
        sub, size = extract_subtree(plan_state.tree, jnp.maximum(child, 0),
                                    keep=capacity - num_simulations)
        reuse = (plan_state.valid & (child != UNVISITED)
                 & latents_match(jax.tree.map(lambda x: x[ROOT], sub.embeddings), latent))
        # The kept root gets this call's latent, priors (with fresh noise) and mask.
        # ceil keeps every visited edge visited
        sub = branch(reuse_decay < 1.0, lambda: sub.replace(
            node_visits=jnp.ceil(sub.node_visits * reuse_decay).astype(jnp.int32),
            children_visits=jnp.ceil(sub.children_visits * reuse_decay).astype(jnp.int32)),
            lambda: sub)
        sub = sub.replace(
            children_prior_logits=sub.children_prior_logits.at[ROOT].set(root.prior_logits),
            invalid_actions=sub.invalid_actions.at[ROOT].set(root.invalid_actions),
            embeddings=jax.tree.map(lambda buf, x: buf.at[ROOT].set(x), sub.embeddings, latent))
        tree = jax.tree.map(lambda a, b: jnp.where(reuse, a, b), sub, fresh)
        return tree, jnp.where(reuse, size - 1, 0)

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
        gumbel = None
        if rule == "puct":
            def with_noise():
                noise = jax.random.dirichlet(k_noise, jnp.full((num_actions,), dirichlet_alpha))
                probs = (1 - dirichlet_fraction) * jax.nn.softmax(root.prior_logits) \
                    + dirichlet_fraction * noise
                return _logits_from_probs(probs)

            root = root._replace(prior_logits=branch(dirichlet_fraction > 0, with_noise,
                                                     lambda: root.prior_logits))
        if rule == "gumbel":
            gumbel = gumbel_scale * jax.random.gumbel(k_noise, (num_actions,))
        root = root._replace(prior_logits=_mask_logits(root.prior_logits, root.invalid_actions))
        tree, filled = start(plan_state, latent, root)
        if gumbel is not None:
            tree = tree.replace(root_gumbel=gumbel)
        tree = search(tree, model=model, params=params, key=k_search,
                      num_simulations=num_simulations, first_simulation=filled, select=select,
                      evaluate=evaluate, discount=discount, max_depth=max_depth,
                      root_select=gumbel_root_select if rule == "gumbel" else None)
        action, weights = _act(tree, k_act)
        # Non-finite expansions mask their edges at the root; when that leaves no
        # action, fall back to the legal actions the search started with.
        legal = ~root.invalid_actions
        stuck = tree.invalid_actions[ROOT].all() & legal.any()
        fallback = legal / jnp.maximum(legal.sum(), 1)
        action = jnp.where(stuck, jnp.argmax(legal).astype(action.dtype), action)
        weights = jnp.where(stuck, fallback, weights)
        if reuse_tree:
            plan_state = MCTSState(tree=tree, action=action, valid=jnp.array(True))
        info = MCTSInfo(visit_counts=tree.children_visits[ROOT], action_weights=weights,
                        root_value=tree.node_values[ROOT], qvalues=qvalues(tree, ROOT), tree=tree,
                        predicted_return=tree.node_values[ROOT],
                        num_nonfinite=tree.num_nonfinite + root_bad.astype(jnp.int32))
        return action, plan_state, info

    def _act(tree, key):
        visits = tree.children_visits[ROOT]
        mask = tree.invalid_actions[ROOT]
        if rule == "gumbel":
            completed_q = completed_by_mix_value(tree, ROOT, value_scale=value_scale,
                                                 maxvisit_init=maxvisit_init)
            scores = selection.gumbel_considered_scores(
                visits.max(), tree.root_gumbel, tree.children_prior_logits[ROOT],
                completed_q, visits)
            action = selection.masked_argmax(scores, mask)
            weights = jax.nn.softmax(
                _mask_logits(tree.children_prior_logits[ROOT] + completed_q, mask))
            return action, weights
        total = visits.sum()
        weights = jnp.where(total > 0, visits / jnp.maximum(total, 1), 1.0 / num_actions)

        def most_visited():
            # Uniform among the most visited: a fixed tie-break (lowest index) biases
            # every close call the same way, which on CartPole walks the cart off the
            # track. mctx's temperature-0 sampling breaks ties at random too.
            valid_visits = jnp.where(mask, -1, visits)
            best = valid_visits == valid_visits.max()
            return jax.random.categorical(key, jnp.where(best, 0.0, -jnp.inf)).astype(jnp.int32)

        def by_visits():
            logits = _logits_from_probs(weights)
            logits = (logits - logits.max()) / temperature
            return jax.random.categorical(key, jnp.where(mask, -jnp.inf, logits)).astype(jnp.int32)

        return branch(temperature == 0, most_visited, by_visits), weights

    return make_planner(name, init, plan)


def _continuous(model, action_space, *, num_sampled_actions, proposal_fn, prior_fn,
                invalid_actions_fn, reuse_tree, value_fn, **search_options) -> Planner:
    """`mcts` on a Box: discrete search over sampled candidates (see `continuous`)."""
    name = "mcts"
    k = check_int(name, "num_sampled_actions", num_sampled_actions)
    for option, given in (("prior_fn", prior_fn), ("invalid_actions_fn", invalid_actions_fn)):
        if given is not None:
            raise ValueError(f"{name}: {option} needs a Discrete action space; for a Box "
                             "give proposal_fn to shape the candidate actions")
    if reuse_tree:
        raise ValueError(f"{name}: reuse_tree needs a Discrete action space (the new root's "
                         "candidate actions would not match the kept subtree's)")
    if proposal_fn is not None and not callable(proposal_fn):
        raise TypeError(f"{name}: proposal_fn must be callable or None, got {proposal_fn!r}")
    propose = proposal_fn or uniform_proposal(action_space, k)
    wrapped_value = None if value_fn is None else (
        lambda params, node: value_fn(params, node.latent))
    inner = mcts(sampled_action_model(model, propose), Discrete(k),
                 value_fn=wrapped_value, **search_options)

    def plan(plan_state, params, latent, key):
        k_propose, k_search = jax.random.split(key)
        candidates = propose(params, latent, k_propose)
        shape = (k,) + tuple(action_space.shape)
        if candidates.shape != shape:
            raise ValueError(f"{name}: proposal_fn must return shape {shape}, got {candidates.shape}")
        slot, plan_state, info = inner.plan(plan_state, params,
                                            SampledLatent(latent, candidates), k_search)
        return action_space.clip(candidates[slot]), plan_state, info

    return make_planner(name, inner.init, plan)
