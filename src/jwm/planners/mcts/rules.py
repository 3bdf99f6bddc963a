"""The MCTS rules, one builder each: `puct` (AlphaZero/MuZero), `gumbel` (Gumbel
MuZero) and `uct` (UCB1, for rollouts).

Each builder checks its own knobs and hands the shared planner (`assemble`) its
action selection at the root and below it (`functools.partial`s of
`jwm.planners.mcts.selection`'s functions), its root noise and its policy target (how
it acts on the finished tree), as mctx's ``muzero_policy`` and
``gumbel_muzero_policy`` hand theirs to one search. Every builder also takes the
shared options (`SEARCH_OPTIONS`, documented at `assemble`); a knob of another rule is
a TypeError. `sampled_actions` wraps any of them for a Box action space, and `mcts`
picks one by name.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jwm.checks import branch, check_int, check_real
from jwm.planners.base import Planner
from jwm.planners.mcts import selection
from jwm.planners.mcts.assembly import (NAME, SearchRule, TreeReuse, assemble, check_options,
                                        logits_from_probs, mask_logits)
from jwm.planners.mcts.qtransforms import completed_by_mix_value_row
from jwm.planners.mcts.search import NodeEvaluation
from jwm.planners.mcts.tree import ROOT

__all__ = ["KNOBS", "act_by_gumbel", "act_by_visits", "check_knobs", "dirichlet_noise",
           "gumbel", "gumbel_noise", "puct", "tree_reuse", "uct"]



def _real(**interval):
    return functools.partial(check_real, **interval)


# The check of every rule's numeric knob, by name: the builders check their own knobs
# with it, and `mcts` the knobs of other rules that it is given and ignores.
KNOBS = {
    "dirichlet_fraction": _real(low=0.0, high=1.0),
    "dirichlet_alpha": _real(low=0.0, low_open=True),
    "pb_c_init": _real(low=0.0),
    "pb_c_base": _real(low=0.0, low_open=True),
    "uct_c": _real(low=0.0),
    "gumbel_scale": _real(low=0.0),
    "max_num_considered_actions": check_int,
    "value_scale": _real(low=0.0, low_open=True),
    "maxvisit_init": _real(low=0.0),
    "temperature": _real(low=0.0),
    "reuse_decay": _real(low=0.0, high=1.0, low_open=True),
}


def check_knobs(where: str, **knobs) -> tuple:
    """The values of ``knobs`` (names of `KNOBS`) checked, in the order given."""
    return tuple(KNOBS[name](where, name, value) for name, value in knobs.items())


def tree_reuse(num_simulations: int, *, reuse_tree: bool, latent_example, tree_capacity,
               reuse_decay) -> TreeReuse | None:
    """The `TreeReuse` of the reuse options, checked; None without ``reuse_tree``."""
    num_simulations = check_int(NAME, "num_simulations", num_simulations)
    (reuse_decay,) = check_knobs(NAME, reuse_decay=reuse_decay)
    if not reuse_tree:
        return None
    if latent_example is None:
        raise ValueError(f"{NAME}: reuse_tree=True needs latent_example (any latent of "
                         "the model) to lay out the carried tree")
    capacity = 2 * num_simulations + 1 if tree_capacity is None else check_int(
        NAME, "tree_capacity", tree_capacity, minimum=num_simulations + 2)
    return TreeReuse(capacity=capacity, latent_example=latent_example, decay=reuse_decay)


# ------------------------------------------------------------------ root noise


def dirichlet_noise(root: NodeEvaluation, key, *, fraction, alpha):
    """PUCT's root: priors ``(1 - fraction) * softmax(logits) + fraction * Dir(alpha)``."""
    def with_noise():
        noise = jax.random.dirichlet(key, jnp.full(root.prior_logits.shape, alpha))
        probs = (1 - fraction) * jax.nn.softmax(root.prior_logits) + fraction * noise
        return logits_from_probs(probs)

    return root._replace(prior_logits=branch(fraction > 0, with_noise,
                                             lambda: root.prior_logits)), None


def gumbel_noise(root: NodeEvaluation, key, *, scale):
    """Gumbel MuZero's root: the priors as evaluated, ``scale * Gumbel(0, 1)`` ``[A]``
    noise for the root's top-k."""
    return root, scale * jax.random.gumbel(key, root.prior_logits.shape)


# ------------------------------------------------------------- policy targets


def act_by_visits(tree, key, *, temperature):
    """PUCT's and UCT's acting: ``(action, visit frequencies [A])``, the action sampled
    from the visits ``** (1 / temperature)``, uniformly among the most visited at 0."""
    visits = tree.children_visits[ROOT]
    mask = tree.invalid_actions[ROOT]
    total = visits.sum()
    weights = jnp.where(total > 0, visits / jnp.maximum(total, 1), 1.0 / visits.shape[-1])

    def most_visited():
        # Uniform among the most visited: a fixed tie-break (lowest index) biases
        # every close call the same way, which on CartPole walks the cart off the
        # track. mctx's temperature-0 sampling breaks ties at random too.
        valid_visits = jnp.where(mask, -1, visits)
        best = valid_visits == valid_visits.max()
        return jax.random.categorical(key, jnp.where(best, 0.0, -jnp.inf)).astype(jnp.int32)

    def by_visits():
        logits = logits_from_probs(weights)
        logits = (logits - logits.max()) / temperature
        return jax.random.categorical(key, jnp.where(mask, -jnp.inf, logits)).astype(jnp.int32)

    return branch(temperature == 0, most_visited, by_visits), weights


def act_by_gumbel(tree, key, *, value_scale, maxvisit_init):
    """Gumbel MuZero's acting: the Gumbel argmax among the most visited root actions,
    and ``softmax(logits + completed Q)`` ``[A]`` (the improved policy)."""
    del key  # the root's Gumbel noise decided
    visits = tree.children_visits[ROOT]
    mask = tree.invalid_actions[ROOT]
    logits = tree.children_prior_logits[ROOT]
    completed_q = completed_by_mix_value_row(tree, ROOT, value_scale=value_scale,
                                             maxvisit_init=maxvisit_init)
    scores = selection.gumbel_considered_row(visits.max(), tree.root_gumbel, logits,
                                             completed_q, visits)
    weights = jax.nn.softmax(mask_logits(logits + completed_q.array(), mask))
    return selection.masked_argmax(scores, mask), weights


# ------------------------------------------------------------------ builders


def puct(model, action_space, *, num_simulations: int, dirichlet_fraction: float = 0.25,
         dirichlet_alpha: float = 0.3, pb_c_init: float = 1.25, pb_c_base: float = 19652.0,
         temperature: float = 1.0, reuse_tree: bool = False, latent_example=None,
         tree_capacity: int | None = None, reuse_decay: float = 0.5, **options) -> Planner:
    """AlphaZero/MuZero MCTS: PUCT selection on min-max normalised Q.

    The root's priors get ``dirichlet_fraction`` of ``Dir(dirichlet_alpha)`` noise
    (a fresh draw every call); every node selects by `selection.puct_row`
    (``pb_c_init``, ``pb_c_base``); the planner acts by sampling the root's visit
    counts ``** (1 / temperature)`` (uniformly among the most visited at 0), and
    reports the visit frequencies as ``action_weights``.

    Subtree reuse (``reuse_tree=True``): the subtree under the action taken becomes
    the next call's root, its statistics kept, when its latent matches the new one
    (exactly for integers, to 1e-5 for floats; a mismatch starts afresh). The tree
    holds ``tree_capacity`` nodes (default ``2 * num_simulations + 1``), keeping at
    most ``tree_capacity - num_simulations`` old ones; ``latent_example`` (any latent
    of the model) lays out ``plan_state``; kept visit counts are scaled by
    ``reuse_decay`` in (0, 1] at every step (without decay the inherited counts
    dominate and the search reacts slowly).

    ``options`` are the shared ones (`SEARCH_OPTIONS`, see `assemble`); the planner is
    `assemble`'s, over a `Discrete(n)` ``action_space`` (`sampled_actions` for a Box).
    """
    fraction, alpha, c_init, c_base, temperature = check_knobs(
        NAME, dirichlet_fraction=dirichlet_fraction, dirichlet_alpha=dirichlet_alpha,
        pb_c_init=pb_c_init, pb_c_base=pb_c_base, temperature=temperature)
    rule = SearchRule(
        select=functools.partial(selection.puct_select, pb_c_init=c_init, pb_c_base=c_base),
        root_noise=functools.partial(dirichlet_noise, fraction=fraction, alpha=alpha),
        act=functools.partial(act_by_visits, temperature=temperature))
    reuse = tree_reuse(num_simulations, reuse_tree=reuse_tree, latent_example=latent_example,
                       tree_capacity=tree_capacity, reuse_decay=reuse_decay)
    return assemble(model, action_space, rule, num_simulations=num_simulations, reuse=reuse,
                    **check_options("puct", options))


def gumbel(model, action_space, *, num_simulations: int, gumbel_scale: float = 1.0,
           max_num_considered_actions: int = 16, value_scale: float = 0.1,
           maxvisit_init: float = 50.0, **options) -> Planner:
    """Gumbel MuZero (Danihelka et al. 2022): planning by sequential halving.

    The root samples ``gumbel_scale * Gumbel(0, 1)`` noise per action and spends the
    simulations by sequential halving over the top ``max_num_considered_actions``
    (`selection.gumbel_root_row`); below the root, selection is deterministic
    (`selection.gumbel_interior_row`), on completed Q-values (``value_scale``,
    ``maxvisit_init``; see `completed_by_mix_value_row`). The planner acts by the
    Gumbel argmax among the most visited root actions and reports ``softmax(logits +
    completed Q)`` as ``action_weights``.

    No subtree reuse: sequential halving schedules every call's simulations from a
    fresh root.

    ``options`` are the shared ones (`SEARCH_OPTIONS`, see `assemble`); the planner is
    `assemble`'s, over a `Discrete(n)` ``action_space`` (`sampled_actions` for a Box).
    """
    num_simulations = check_int(NAME, "num_simulations", num_simulations)
    scale, considered, value_scale, maxvisit_init = check_knobs(
        NAME, gumbel_scale=gumbel_scale, max_num_considered_actions=max_num_considered_actions,
        value_scale=value_scale, maxvisit_init=maxvisit_init)
    mix = dict(value_scale=value_scale, maxvisit_init=maxvisit_init)
    table = jnp.asarray(selection.considered_visits_table(considered, num_simulations))
    rule = SearchRule(
        select=functools.partial(selection.gumbel_interior_select, **mix),
        root_select=functools.partial(selection.gumbel_root_select, table=table,
                                      max_considered=considered, **mix),
        root_noise=functools.partial(gumbel_noise, scale=scale),
        act=functools.partial(act_by_gumbel, **mix))
    return assemble(model, action_space, rule, num_simulations=num_simulations,
                    **check_options("gumbel", options))


def uct(model, action_space, *, num_simulations: int, uct_c: float = 1.4142135,
        temperature: float = 1.0, reuse_tree: bool = False, latent_example=None,
        tree_capacity: int | None = None, reuse_decay: float = 0.5, **options) -> Planner:
    """Classic MCTS: UCB1 (`selection.uct_row`, exploration ``uct_c``) on normalised Q,
    unvisited actions first, no priors needed; meant for rollouts (set
    ``rollout_depth``). Acts like `puct` (visit counts ``** (1 / temperature)``) and
    reuses subtrees like it (``reuse_tree``, ``latent_example``, ``tree_capacity``,
    ``reuse_decay``). On CartPole, no decay reached 500 on 3/8 seeds at 32
    simulations; a decay of 0.5 reached 8/8 (``experiments/mcts_true_model.py``).

    ``options`` are the shared ones (`SEARCH_OPTIONS`, see `assemble`); the planner is
    `assemble`'s, over a `Discrete(n)` ``action_space`` (`sampled_actions` for a Box).
    """
    c, temperature = check_knobs(NAME, uct_c=uct_c, temperature=temperature)
    rule = SearchRule(select=functools.partial(selection.uct_select, exploration=c),
                      act=functools.partial(act_by_visits, temperature=temperature))
    reuse = tree_reuse(num_simulations, reuse_tree=reuse_tree, latent_example=latent_example,
                       tree_capacity=tree_capacity, reuse_decay=reuse_decay)
    return assemble(model, action_space, rule, num_simulations=num_simulations, reuse=reuse,
                    **check_options("uct", options))
