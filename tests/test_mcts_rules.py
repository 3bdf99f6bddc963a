"""MCTS composed per rule: the builders `puct`, `gumbel` and `uct`, the `sampled_actions`
wrapper for Box actions, and the `mcts` dispatcher that names them.

The builders must build exactly the planner `mcts(rule=...)` builds (the same traced
program with the same constants, hence the same outputs bit for bit), refuse each
other's knobs, and the shared machinery must not branch on a rule's name.
"""

import glob
import os
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm
from jwm.planners.mcts import RULES, gumbel, mcts, puct, sampled_actions, uct
from jwm.spaces import Box, Discrete

FAST_COMPILE = {"xla_backend_optimization_level": 0}
BUILDERS = {"puct": puct, "gumbel": gumbel, "uct": uct}
MCTS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "src", "jwm", "planners", "mcts")
A, S, SEEDS = 3, 6, 4


def table_model():
    return jwm.WorldModel(
        init=lambda key: (), encode=lambda params, obs: obs,
        step=lambda p, s, a, key: (p["nxt"][s, a], p["rew"][s, a], p["disc"][s, a]))


def tables():
    rng = np.random.default_rng(0)
    shape = (SEEDS, S, A)
    invalid = rng.uniform(size=shape) < 0.3
    invalid[..., 0] = False
    return jax.tree.map(jnp.asarray, dict(
        nxt=rng.integers(0, S, shape).astype(np.int32),
        rew=rng.normal(size=shape).astype(np.float32),
        disc=np.where(rng.uniform(size=shape) < 0.2, 0.0, 0.9).astype(np.float32),
        logits=rng.normal(size=shape).astype(np.float32),
        value=rng.normal(size=shape[:2]).astype(np.float32), invalid=invalid))


SHARED = dict(prior_fn=lambda p, s: p["logits"][s], value_fn=lambda p, s: p["value"][s],
              invalid_actions_fn=lambda p, s: p["invalid"][s], discount=0.97)
# Per rule: its own knobs away from their defaults, and a rollout setting.
KNOBS = {
    "puct": dict(dirichlet_fraction=0.4, dirichlet_alpha=0.5, pb_c_init=2.0, temperature=0.5,
                 rollout_depth=2, num_rollouts=2),
    "gumbel": dict(gumbel_scale=0.7, max_num_considered_actions=2, value_scale=0.2,
                   maxvisit_init=20.0, rollout_depth=2, rollout_aggregate="max"),
    "uct": dict(uct_c=0.8, temperature=0.0, rollout_depth=3, rollout_horizon="root"),
}


def batched_plan(planner):
    return jax.vmap(planner.plan, in_axes=(None, 0, 0, 0))


def run(planner, params, latents, keys):
    out = jax.jit(batched_plan(planner), compiler_options=FAST_COMPILE)(
        planner.init(None), params, latents, keys)
    return jax.tree.map(np.asarray, out)


def assert_same_program(a, b, *args):
    """``a`` and ``b`` trace to the same program with the same constants: on the same
    inputs they compute the same outputs, bit for bit (cheaper than compiling both)."""
    ja, jb = jax.make_jaxpr(a)(*args), jax.make_jaxpr(b)(*args)
    assert str(ja.jaxpr) == str(jb.jaxpr)
    assert len(ja.consts) == len(jb.consts)
    for x, y in zip(ja.consts, jb.consts):
        assert np.array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("knobs", ["defaults", "changed"])
def test_each_builder_builds_the_planner_mcts_builds_for_its_rule(rule, knobs):
    options = dict(num_simulations=10, **SHARED, **(KNOBS[rule] if knobs == "changed" else {}))
    ours = BUILDERS[rule](table_model(), Discrete(A), **options)
    theirs = mcts(table_model(), Discrete(A), rule=rule, **options)
    latents = jnp.arange(SEEDS, dtype=jnp.int32) % S
    args = (ours.init(None), tables(), latents, jax.random.split(jax.random.key(1), SEEDS))
    assert_same_program(batched_plan(ours), batched_plan(theirs), *args)


@pytest.mark.parametrize("rule", RULES)
def test_a_builder_plans_like_mcts_on_a_table_model(rule):
    """The outputs themselves, once per rule (`tests/test_mcts.py` checks them
    against mctx through `mcts`)."""
    options = dict(num_simulations=10, **SHARED, **KNOBS[rule])
    latents = jnp.arange(SEEDS, dtype=jnp.int32) % S
    keys = jax.random.split(jax.random.key(1), SEEDS)
    action, _, info = run(BUILDERS[rule](table_model(), Discrete(A), **options), tables(),
                          latents, keys)
    assert (info.visit_counts.sum(-1) == 10).all()
    invalid = np.asarray(tables()["invalid"])[np.arange(SEEDS), np.asarray(latents)]
    assert not invalid[np.arange(SEEDS), action].any()
    assert (info.visit_counts[invalid] == 0).all()


@pytest.mark.parametrize("rule", ["puct", "uct"])
def test_a_reusing_builder_carries_the_same_tree_as_mcts(rule):
    options = dict(num_simulations=6, reuse_tree=True, latent_example=jnp.int32(0),
                   reuse_decay=0.5, **SHARED)
    params = jax.tree.map(lambda x: x[0], tables())
    ours = BUILDERS[rule](table_model(), Discrete(A), **options)
    theirs = mcts(table_model(), Discrete(A), rule=rule, **options)
    assert_same_program(ours.plan, theirs.plan, theirs.init(None), params, jnp.int32(0),
                        jax.random.key(0))
    plan = jax.jit(ours.plan, compiler_options=FAST_COMPILE)
    state, latent = ours.init(None), jnp.int32(0)
    for i in range(3):
        action, state, info = plan(state, params, latent, jax.random.key(i))
        latent = params["nxt"][latent, action]
    assert int(info.tree.node_visits[0]) > 7  # the root kept visits from before


def box_model():
    def step(params, z, a, key):
        z = 0.9 * z + a
        return z, -jnp.sum(z ** 2), jnp.float32(0.95)

    return jwm.WorldModel(init=lambda k: (), encode=lambda p, o: o, step=step)


@pytest.mark.parametrize("rule", RULES)
def test_sampled_actions_wraps_every_builder_for_a_box(rule):
    box = Box(-1.0, 1.0, (2,))
    own = {"gumbel": dict(gumbel_scale=0.5)}.get(rule, dict(temperature=0.0))
    options = dict(num_simulations=8, num_sampled_actions=4, rollout_depth=2, **own)
    latents = jnp.array([[0.8, -0.5], [0.1, 0.2], [-1.0, 1.0], [0.0, 0.0]])
    keys = jax.random.split(jax.random.key(2), SEEDS)
    planner = sampled_actions(BUILDERS[rule])(box_model(), box, **options)
    action, _, info = run(planner, (), latents, keys)
    assert action.shape == (SEEDS, 2) and (np.abs(action) <= 1.0).all()
    assert (info.visit_counts.sum(-1) == 8).all() and info.visit_counts.shape == (SEEDS, 4)
    # The chosen action is one of the candidates sampled at the root.
    candidates = info.tree.embeddings.actions[:, 0]                      # [B, K, 2]
    assert np.isclose(candidates, action[:, None]).all(-1).any(-1).all()
    assert_same_program(batched_plan(planner),
                        batched_plan(mcts(box_model(), box, rule=rule, **options)),
                        planner.init(None), (), latents, keys)


def test_a_builder_refuses_a_box_and_the_wrapper_a_discrete_space():
    with pytest.raises(TypeError, match="sampled_actions"):
        puct(box_model(), Box(-1.0, 1.0, (2,)), num_simulations=4)
    with pytest.raises(TypeError, match="action_space"):
        sampled_actions(uct)(table_model(), Discrete(A), num_simulations=4)


def test_an_unknown_rule_is_a_value_error_naming_rule_and_the_rules():
    with pytest.raises(ValueError, match=r"rule must be one of \['puct', 'gumbel', 'uct'\]"):
        mcts(table_model(), Discrete(A), num_simulations=4, rule="alphazero")


@pytest.mark.parametrize("builder, knob, value", [
    (gumbel, "pb_c_init", 1.0), (gumbel, "dirichlet_fraction", 0.0), (gumbel, "uct_c", 1.0),
    (gumbel, "temperature", 0.0), (gumbel, "reuse_tree", True),
    (puct, "gumbel_scale", 0.0), (puct, "uct_c", 1.0), (puct, "max_num_considered_actions", 4),
    (uct, "pb_c_init", 1.0), (uct, "dirichlet_alpha", 0.3), (uct, "value_scale", 0.1),
    (uct, "num_sampled_actions", 4),
])
def test_a_knob_of_another_rule_is_a_type_error_naming_it(builder, knob, value):
    with pytest.raises(TypeError, match=knob):
        builder(table_model(), Discrete(A), num_simulations=4, **{knob: value})


def test_mcts_takes_every_rules_knobs_and_checks_the_ones_it_ignores():
    """One options dict builds either rule (as jwm.agents.muzero does), so the knobs the
    chosen rule does not use are checked like their own rule checks them, then ignored."""
    model = table_model()
    mixed = dict(num_simulations=4, gumbel_scale=0.0, dirichlet_fraction=0.0,
                 dirichlet_alpha=0.25, temperature=0.0, max_num_considered_actions=3)
    for rule in RULES:
        assert mcts(model, Discrete(A), rule=rule, **mixed).plan is not None
    with pytest.raises(ValueError, match="gumbel_scale"):
        mcts(model, Discrete(A), num_simulations=4, rule="puct", gumbel_scale=-1.0)
    with pytest.raises(ValueError, match="uct_c"):
        mcts(model, Discrete(A), num_simulations=4, rule="gumbel", uct_c=-1.0)
    with pytest.raises(TypeError, match="not_an_option"):
        mcts(model, Discrete(A), num_simulations=4, rule="uct", not_an_option=1)
    with pytest.raises(ValueError, match=r"reuse_tree .*'gumbel'.*\['puct', 'uct'\]"):
        mcts(model, Discrete(A), num_simulations=4, rule="gumbel", reuse_tree=True,
             latent_example=0)
    with pytest.raises(ValueError, match="proposal_fn"):
        mcts(model, Discrete(A), num_simulations=4, proposal_fn=lambda p, z, k: None)
    # The options of the other space are ignored at their defaults, as they always were.
    mcts(model, Discrete(A), num_simulations=4, rule="gumbel", num_sampled_actions=8,
         reuse_tree=False, latent_example=None, tree_capacity=None)


def test_no_module_but_the_dispatcher_knows_a_rule_by_name():
    sources = {os.path.basename(p): open(p).read()
               for p in glob.glob(os.path.join(MCTS_DIR, "*.py"))}
    assert {"assembly.py", "rules.py", "planner.py", "continuous.py"} <= set(sources)
    count = sum(len(re.findall(r"rule ==", text)) for text in sources.values())
    assert count <= 1, count
    # Nor does the shared machinery name a rule in code at all (quoted names only in text).
    for name in ("assembly.py", "search.py", "continuous.py"):
        code = [line for line in sources[name].splitlines()
                if not line.lstrip().startswith(("#", '"', "'"))]
        for rule in RULES:
            assert not any(f'"{rule}"' in line or f"'{rule}'" in line for line in code), \
                (name, rule)
