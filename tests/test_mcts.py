"""MCTS: an mctx oracle, hand-checked searches, bad input and determinism.

jwm's MCTS searches one latent (vmap for a batch); mctx is batched. The oracle tests
run both on the same random deterministic table models with the noise switched off
(PUCT: no Dirichlet noise, temperature 0; Gumbel: gumbel_scale 0) and ask for the same
tree. mctx breaks PUCT selection ties with 1e-7 uniform noise, jwm with a hashed salt;
random normal tables make exact ties (practically) impossible.

Compile time dominates this file, so every configuration compiles once: seeds are a
vmapped batch, and variants that differ only in data (one- or two-player discounts,
with or without a root mask) share a batch.
"""

import functools

import jax
import jax.numpy as jnp
import mctx
import numpy as np
import pytest

import jwm
from jwm.spaces import Discrete

# Test-only: a lower XLA optimisation level halves compile time on CPU; the searches
# here are tiny, so run time does not matter.
FAST_COMPILE = {"xla_backend_optimization_level": 0}


def fast_jit(fn, **kw):
    return jax.jit(fn, compiler_options=FAST_COMPILE, **kw)


# ------------------------------------------------------------------- table models

NUM_STATES = 12          # states 0..NUM_STATES-1 are reachable from one another
ROOT_STATE = NUM_STATES  # an extra row no transition leads to: the root's own state
BATCH = 64               # seeds per oracle configuration


def table_model():
    """A deterministic model reading every transition from ``params`` tables."""
    return jwm.WorldModel(
        init=lambda key: (), encode=lambda params, obs: obs,
        step=lambda p, s, a, key: (p["nxt"][s, a], p["rew"][s, a], p["disc"][s, a]))


def seed_variants(masked):
    """Per-seed flags: odd seeds are two-player; with ``masked``, half have a root mask."""
    b = np.arange(BATCH)
    two_player = b % 2 == 1
    has_mask = ((b // 2) % 2 == 1) if masked else np.zeros(BATCH, bool)
    return two_player, has_mask


def make_tables(seed, num_actions, *, masked):
    """Batched random tables (leading axis: BATCH seeds), drawn with NumPy.

    Discounts are 0.95 (one player) or -1 (two players), 0 on about 10% of the
    transitions. Masks live in an ``invalid`` table that is False everywhere but the
    root row, so jwm's ``invalid_actions_fn`` masks exactly what mctx's root-only
    ``invalid_actions`` does.
    """
    rng = np.random.default_rng(seed)
    shape = (BATCH, NUM_STATES + 1, num_actions)
    two_player, has_mask = seed_variants(masked)
    cont = np.where(two_player, -1.0, 0.95)[:, None, None]
    disc = np.where(rng.uniform(size=shape) < 0.1, 0.0, cont)
    root_mask = rng.uniform(size=(BATCH, num_actions)) < 0.4
    keep = rng.integers(0, num_actions, BATCH)  # at least one valid action
    root_mask &= (np.arange(num_actions) != keep[:, None]) & has_mask[:, None]
    invalid = np.zeros(shape, bool)
    invalid[:, ROOT_STATE] = root_mask
    tables = dict(
        nxt=rng.integers(0, NUM_STATES, shape).astype(np.int32),
        rew=rng.normal(size=shape), disc=disc, logits=rng.normal(size=shape),
        value=rng.normal(size=shape[:2]), invalid=invalid)
    return {k: jnp.asarray(v.astype(np.float32) if v.dtype == np.float64 else v)
            for k, v in tables.items()}


@functools.lru_cache(maxsize=None)
def jwm_oracle_plan(num_actions, rule, num_simulations, masked, max_depth):
    """jwm's plan, vmapped over (tables, keys) and jitted once per configuration."""
    kw = dict(dirichlet_fraction=0.0, temperature=0.0) if rule == "puct" else \
        dict(gumbel_scale=0.0)
    if masked:
        kw["invalid_actions_fn"] = lambda p, s: p["invalid"][s]
    planner = jwm.planners.mcts(
        table_model(), Discrete(num_actions), num_simulations=num_simulations, rule=rule,
        prior_fn=lambda p, s: p["logits"][s], value_fn=lambda p, s: p["value"][s],
        max_depth=max_depth, **kw)
    plan = jax.vmap(planner.plan, in_axes=(None, 0, 0, 0))
    latents = jnp.full((BATCH,), ROOT_STATE, jnp.int32)
    return fast_jit(lambda tables, keys: plan(planner.init(None), tables, latents, keys))


def _mctx_recurrent_fn(params, key, action, emb):
    del key
    b = jnp.arange(action.shape[0])
    nxt = params["nxt"][b, emb, action]
    out = mctx.RecurrentFnOutput(
        reward=params["rew"][b, emb, action], discount=params["disc"][b, emb, action],
        prior_logits=params["logits"][b, nxt], value=params["value"][b, nxt])
    return out, nxt


@functools.lru_cache(maxsize=None)
def mctx_oracle_plan(rule, num_simulations, masked, max_depth):
    def run(tables, key):
        b = jnp.arange(BATCH)
        root = mctx.RootFnOutput(prior_logits=tables["logits"][b, ROOT_STATE],
                                 value=tables["value"][b, ROOT_STATE],
                                 embedding=jnp.full((BATCH,), ROOT_STATE, jnp.int32))
        invalid = tables["invalid"][b, ROOT_STATE] if masked else None
        if rule == "puct":
            return mctx.muzero_policy(tables, key, root, _mctx_recurrent_fn, num_simulations,
                                      invalid_actions=invalid, max_depth=max_depth,
                                      dirichlet_fraction=0.0, temperature=0.0)
        return mctx.gumbel_muzero_policy(tables, key, root, _mctx_recurrent_fn,
                                         num_simulations, invalid_actions=invalid,
                                         max_depth=max_depth, gumbel_scale=0.0)

    def run_with_summary(tables, key):
        out = run(tables, key)
        return out, out.search_tree.summary()
    return fast_jit(run_with_summary)


# ----------------------------------------------------------------- 1. mctx oracle

# (num_actions, num_simulations, rule, max_depth, masked). Every batch mixes one- and
# two-player seeds; with ``masked``, half of them also have a root mask (the others an
# all-False one); without it, jwm gets no invalid_actions_fn at all.
ORACLE_CONFIGS = [
    (2, 12, "puct", None, True),
    (2, 12, "gumbel", None, True),
    (4, 20, "puct", 2, True),
    (4, 20, "gumbel", 3, True),
    (9, 24, "puct", None, False),
    (9, 24, "gumbel", None, False),
]

INT_FIELDS = ("children_visits", "children_index", "node_visits", "parents",
              "action_from_parent")
FLOAT_FIELDS = ("node_values", "raw_values", "children_values", "children_rewards",
                "children_discounts")


def _per_seed(mismatch):
    mismatch = np.asarray(mismatch)
    return mismatch.reshape(mismatch.shape[0], -1).any(-1)


@pytest.mark.parametrize(
    "num_actions,num_simulations,rule,max_depth,masked", ORACLE_CONFIGS,
    ids=[f"A{a}-S{n}-{r}-depth{d}{'-masked' if m else ''}"
         for a, n, r, d, m in ORACLE_CONFIGS])
def test_matches_mctx(num_actions, num_simulations, rule, max_depth, masked):
    seed = 100 * num_actions + 10 * (rule == "gumbel") + (max_depth or 0)
    tables = make_tables(seed, num_actions, masked=masked)
    keys = jax.random.split(jax.random.key(seed + 1), BATCH)
    action, _, info = jwm_oracle_plan(num_actions, rule, num_simulations, masked,
                                      max_depth)(tables, keys)
    out, summary = mctx_oracle_plan(rule, num_simulations, masked, max_depth)(
        tables, jax.random.key(seed + 2))
    ours, theirs = info.tree, out.search_tree
    visited = np.asarray(info.visit_counts) > 0

    bad = {}
    for name in INT_FIELDS:
        bad[name] = _per_seed(np.asarray(getattr(ours, name)) != getattr(theirs, name))
    for name in FLOAT_FIELDS:
        bad[name] = _per_seed(np.abs(np.asarray(getattr(ours, name))
                                     - np.asarray(getattr(theirs, name))) > 1e-5)
    bad["visit_counts"] = _per_seed(np.asarray(info.visit_counts) != summary.visit_counts)
    bad["root_value"] = np.abs(np.asarray(info.root_value) - summary.value) > 1e-5
    bad["qvalues"] = _per_seed(visited & (np.abs(np.asarray(info.qvalues)
                                                 - summary.qvalues) > 1e-5))
    bad["action_weights"] = _per_seed(np.abs(np.asarray(info.action_weights)
                                             - out.action_weights) > 1e-5)
    action, mctx_action = np.asarray(action), np.asarray(out.action)
    if rule == "gumbel":
        bad["action"] = action != mctx_action
    else:
        # At temperature 0 both act uniformly among the most-visited actions (from
        # different keys), so compare exactly only where the maximum is unique.
        visits = np.asarray(info.visit_counts)
        top = visits == visits.max(-1, keepdims=True)
        rows = np.arange(BATCH)
        bad["action"] = ~top[rows, action] | ~top[rows, mctx_action] | (
            (top.sum(-1) == 1) & (action != mctx_action))

    two_player, has_mask = seed_variants(masked)
    failures = [
        f"seed {i} ({'two' if two_player[i] else 'one'}-player"
        f"{', masked' if has_mask[i] else ''}): {[k for k, v in bad.items() if v[i]]}; "
        f"root visits jwm {np.asarray(info.visit_counts)[i]} mctx "
        f"{np.asarray(summary.visit_counts)[i].astype(int)}"
        for i in range(BATCH) if any(v[i] for v in bad.values())]
    assert not failures, "\n".join(failures)

    # The batch does exercise what it claims to.
    tree_disc = np.asarray(ours.children_discounts)
    assert (tree_disc == -1).any() and (tree_disc == 0.95).any() and (tree_disc == 0).any()
    if masked:
        invalid = np.asarray(tables["invalid"][:, ROOT_STATE])
        assert invalid.any()
        assert not invalid[np.arange(BATCH), action].any()
        assert (np.asarray(info.visit_counts)[invalid] == 0).all()
    if max_depth is not None:
        # At max_depth a simulation re-expands an existing node, leaving slots unused.
        unused = (np.asarray(ours.node_visits) == 0).sum(-1)
        assert (unused > 0).sum() >= BATCH // 4
        used = np.asarray(ours.node_visits) > 0
        assert np.asarray(ours.depth)[used].max() == max_depth


# ------------------------------------------------------------- 2. hand-checked cases
#
# The bandit, the two-player game and the invalid-action problems are all table models
# with 4 actions and 10 states, so one vmapped plan per rule (shared with the
# determinism test) searches all of them: rows BANDIT, GAME and MASKED of one batch.

RULES = ("puct", "gumbel", "uct")
HAND_ACTIONS, HAND_STATES, HAND_SIMS = 4, 10, 128
BANDIT, GAME, MASKED = slice(0, 8), slice(8, 16), slice(16, 32)
HAND_BATCH = 32

# Arm rewards; arm 2 is best.
ARMS = np.array([0.0, 0.3, 1.0, 0.5], np.float32)

# A two-ply zero-sum game: player 1 picks a row, player 2 a column, player 1 receives
# PAYOFF[row, col]. Row minima are (-2, 1, -1): the minimax move is row 1 (value 1),
# answered by column 0. Row 2 holds the largest payoff and row 0 the largest mean, so a
# search that ignores the opponent picks the wrong row. Action 3 is invalid everywhere.
PAYOFF = np.array([[3.0, -2.0, 4.0], [1.0, 2.0, 1.5], [-1.0, 5.0, 0.0]], np.float32)


def hand_tables():
    shape = (HAND_BATCH, HAND_STATES, HAND_ACTIONS)
    nxt = np.zeros(shape, np.int32)
    rew = np.zeros(shape, np.float32)
    disc = np.zeros(shape, np.float32)
    logits = np.zeros(shape, np.float32)
    value = np.zeros(shape[:2], np.float32)
    invalid = np.zeros(shape, bool)

    # Bandit: state 0 is the root; every pull pays its arm and ends the episode
    # (discount 0) in the absorbing state 1.
    nxt[BANDIT] = 1
    rew[BANDIT, 0] = ARMS

    # Game: state 0 is player 1 to move, 1 + row player 2 to move, 4 the end. Rewards
    # are for the player who moves and the discount between plies is -1 (the next
    # value is the opponent's), as in mctx.
    nxt[GAME] = 4
    nxt[GAME, 0, :3] = [1, 2, 3]
    disc[GAME, 0] = -1.0
    rew[GAME, 1:4, :3] = -PAYOFF
    invalid[GAME, :, 3] = True

    # Random models with per-state invalid actions whose prior logits are tempting.
    rng = np.random.default_rng(7)
    m = (HAND_BATCH - MASKED.start,) + shape[1:]
    mask = rng.uniform(size=m) < 0.4
    keep = rng.integers(0, HAND_ACTIONS, m[:2])
    mask &= np.arange(HAND_ACTIONS) != keep[..., None]  # a valid action everywhere
    mask[:, 0] = [True, True, False, False]              # the root has invalid actions
    invalid[MASKED] = mask
    nxt[MASKED] = rng.integers(0, HAND_STATES, m)
    rew[MASKED] = rng.normal(size=m)
    disc[MASKED] = np.where(rng.uniform(size=m) < 0.1, 0.0, 0.9)
    logits[MASKED] = rng.normal(size=m) + 4.0 * mask
    value[MASKED] = rng.normal(size=m[:2])
    return jax.tree.map(jnp.asarray, dict(nxt=nxt, rew=rew, disc=disc, logits=logits,
                                          value=value, invalid=invalid))


def hand_planner(rule):
    # puct and uct act on the most-visited action (temperature 0), PUCT with its
    # default Dirichlet noise; gumbel keeps gumbel_scale=1 and acts by the Gumbel argmax.
    kw = {} if rule == "gumbel" else dict(temperature=0.0)
    return jwm.planners.mcts(
        table_model(), Discrete(HAND_ACTIONS), num_simulations=HAND_SIMS, rule=rule,
        prior_fn=lambda p, s: p["logits"][s], value_fn=lambda p, s: p["value"][s],
        invalid_actions_fn=lambda p, s: p["invalid"][s], **kw)


@pytest.fixture(scope="module")
def hand_runs():
    """Per rule: (planner, tables, keys, action, info) of one vmapped plan call."""
    tables = hand_tables()
    keys = jax.random.split(jax.random.key(3), HAND_BATCH)
    latents = jnp.zeros((HAND_BATCH,), jnp.int32)
    runs = {}
    for rule in RULES:
        planner = hand_planner(rule)
        plan = fast_jit(jax.vmap(planner.plan, in_axes=(None, 0, 0, 0)))
        action, _, info = plan(planner.init(None), tables, latents, keys)
        runs[rule] = (planner, tables, keys, np.asarray(action), jax.tree.map(np.asarray, info))
    return runs


@pytest.mark.parametrize("rule", RULES)
def test_bandit_finds_best_arm(hand_runs, rule):
    *_, action, info = hand_runs[rule]
    action, info = action[BANDIT], jax.tree.map(lambda x: x[BANDIT], info)
    visits = info.visit_counts
    assert (visits.sum(-1) == HAND_SIMS).all()
    assert (action == 2).all(), action
    others = np.delete(visits, 2, axis=1)
    if rule == "gumbel":
        # Sequential halving ends with two actions at equal visits.
        assert (visits[:, 2:3] >= others).all(), visits
    else:
        assert (visits[:, 2:3] > others).all(), visits
    # Exact bookkeeping: Q of a pulled arm is its reward; the root value is the mean
    # over the root's own evaluation (value 0) and every simulation's return.
    visited = visits > 0
    np.testing.assert_allclose(np.where(visited, info.qvalues, 0.0),
                               np.where(visited, ARMS, 0.0), atol=1e-6)
    np.testing.assert_allclose(info.root_value, visits @ ARMS / (HAND_SIMS + 1), rtol=1e-5)


@pytest.mark.parametrize("rule", RULES)
def test_two_player_minimax(hand_runs, rule):
    *_, action, info = hand_runs[rule]
    action, info = action[GAME], jax.tree.map(lambda x: x[GAME], info)
    assert (action == 1).all(), action
    assert (info.visit_counts.argmax(-1) == 1).all(), info.visit_counts
    q = info.qvalues
    # Q(root, 1) = -V(player 2's node) converges to min_b PAYOFF[1, b] = 1 from above
    # (player 2 still explores its worse replies).
    np.testing.assert_allclose(q[:, 1], 1.0, atol=0.15)
    # Losing rows, where searched, look worse (their estimates are still optimistic:
    # few visits, and player 2 explores there too).
    visited = info.visit_counts > 0
    assert (np.where(visited, q, -np.inf)[:, [0, 2]] < q[:, 1:2]).all(), q
    # Player 2, after row 1, mostly answers with column 0.
    reply = info.tree.children_index[:, 0, 1]
    reply_visits = info.tree.children_visits[np.arange(len(action)), reply]
    assert (reply_visits.argmax(-1) == 0).all(), reply_visits
    if rule == "gumbel":
        # Sequential halving keeps two root actions to the end, so the root value
        # mixes in a losing row; the improved policy still puts its mass on row 1.
        assert (info.action_weights[:, 1] > 0.9).all(), info.action_weights
    else:
        # The root value averages every simulation, early exploration of the losing
        # rows included, so it lags Q(root, 1).
        np.testing.assert_allclose(info.root_value, 1.0, atol=0.3)


@pytest.mark.parametrize("rule", RULES)
def test_invalid_actions_never_searched_or_chosen(hand_runs, rule):
    _, tables, _, action, info = hand_runs[rule]
    tree = info.tree
    invalid = np.asarray(tables["invalid"])
    rows = np.arange(HAND_BATCH)
    assert not invalid[rows, 0, action].any()
    np.testing.assert_array_equal(info.visit_counts[invalid[:, 0]], 0)
    # Every filled node holds its state's mask, and no invalid action has a child or
    # a visit, at any node.
    node_invalid = invalid[rows[:, None], tree.embeddings]          # [B, N, A]
    used = tree.node_visits > 0
    np.testing.assert_array_equal(tree.invalid_actions[used], node_invalid[used])
    assert (tree.children_visits[node_invalid] == 0).all()
    assert (tree.children_index[node_invalid] == -1).all()
    assert (tree.children_visits[~used] == 0).all()
    # The masks bite below the root too: searched interior nodes with invalid actions.
    interior = used & (tree.depth > 0) & node_invalid.any(-1)
    assert (tree.children_visits[interior].sum(-1) > 0).sum() >= HAND_BATCH


# ------------------------------------------------------------------ 3. bad input


def test_bad_input():
    model = table_model()
    with pytest.raises(ValueError, match="num_simulations"):
        jwm.planners.mcts(model, Discrete(3), num_simulations=0)
    with pytest.raises(ValueError, match="num_simulations"):
        jwm.planners.mcts(model, Discrete(3), num_simulations=-4)
    # Box spaces are searched by sampled MuZero; anything that is neither is refused.
    with pytest.raises(TypeError, match="action_space"):
        jwm.planners.mcts(model, object(), num_simulations=8)
    with pytest.raises(TypeError, match="action_space"):
        jwm.planners.mcts(model, "Discrete(3)", num_simulations=8)
    with pytest.raises(ValueError, match="rule"):
        jwm.planners.mcts(model, Discrete(3), num_simulations=8, rule="foo")
    planner = jwm.planners.mcts(model, Discrete(3), num_simulations=8,
                                prior_fn=lambda p, s: jnp.zeros((4,)))
    params = dict(nxt=jnp.zeros((2, 3), jnp.int32), rew=jnp.zeros((2, 3)),
                  disc=jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="prior_fn"):
        planner.plan(planner.init(None), params, jnp.int32(0), jax.random.key(0))


# ----------------------------------------------------------------- 4. determinism


@pytest.mark.parametrize("rule", RULES)
def test_deterministic_and_vmap_matches_single_calls(hand_runs, rule):
    planner, tables, keys, batch_action, batch_info = hand_runs[rule]
    single = fast_jit(planner.plan)
    state = planner.init(None)
    for i in (0, GAME.start, MASKED.start, MASKED.start + 1):
        params = jax.tree.map(lambda x: x[i], tables)
        first = single(state, params, jnp.int32(0), keys[i])
        again = single(state, params, jnp.int32(0), keys[i])
        # Same key, same outputs, bit for bit.
        for x, y in zip(jax.tree.leaves(first), jax.tree.leaves(again)):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
        # Row i of the vmapped call is the single call.
        row = jax.tree.map(lambda x: x[i], (batch_action, batch_info))
        for x, y in zip(jax.tree.leaves((first[0], first[2])), jax.tree.leaves(row)):
            x = np.asarray(x)
            if np.issubdtype(x.dtype, np.floating):
                np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6)
            else:
                np.testing.assert_array_equal(x, y)
    if rule != "uct":
        # The key matters where the rule draws noise (Dirichlet, Gumbel): on the bandit
        # it reorders the arms PUCT tries and those sequential halving keeps.
        params = jax.tree.map(lambda x: x[BANDIT.start], tables)
        trees = [np.asarray(single(state, params, jnp.int32(0), k)[2].tree.children_visits)
                 for k in keys[:4]]
        assert any(not np.array_equal(trees[0], t) for t in trees[1:])
