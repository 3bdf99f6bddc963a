"""MCTS planners in the MPC loop: CartPole with UCT, subtree reuse, continuous Pendulum."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm


@pytest.fixture(scope="module")
def cartpole():
    env = jwm.envs.make("gymnax:CartPole-v1")
    return env, jwm.models.true_model(env)


def uct(model, env, sims, **kwargs):
    # Max over random rollouts: CartPole's random play falls within ~20 steps, so only
    # the best continuation reveals the slow drift of the cart towards the track's end.
    return jwm.planners.mcts(model, env.action_space, num_simulations=sims, rule="uct",
                             rollout_depth=80, num_rollouts=16, rollout_aggregate="max",
                             temperature=0.0, **kwargs)


def test_uct_with_rollouts_balances_cartpole_to_500(cartpole, run_seeds):
    env, model = cartpole
    ep = run_seeds(env, model, uct(model, env, 16))
    np.testing.assert_array_equal(ep.total_return, [500.0] * 4)
    assert bool(jnp.all(jnp.isfinite(ep.predicted_returns)))


def test_subtree_reuse_reaches_500_with_half_the_simulations(cartpole, run_seeds):
    env, model = cartpole
    example = env.reset(jax.random.key(0))[0]
    with_reuse = run_seeds(env, model, uct(model, env, 8, reuse_tree=True, latent_example=example))
    np.testing.assert_array_equal(with_reuse.total_return, [500.0] * 4)
    without = run_seeds(env, model, uct(model, env, 8))
    assert float(without.total_return.mean()) < 500.0  # the same budget without reuse falls short


def test_continuous_mcts_swings_up_pendulum(run_seeds):
    env = jwm.envs.make("gymnax:Pendulum-v1")
    model = jwm.models.true_model(env)
    planner = jwm.planners.mcts(model, env.action_space, num_simulations=64, rule="uct",
                                num_sampled_actions=8, rollout_depth=30, num_rollouts=8,
                                rollout_aggregate="max", temperature=0.0)
    ep = run_seeds(env, model, planner)
    assert ep.actions.shape == (4, 200, 1) and bool(jnp.all(jnp.abs(ep.actions) <= 2.0))
    assert float(ep.total_return.mean()) >= -250.0, ep.total_return


@pytest.mark.parametrize("rule", ["puct", "gumbel", "uct"])
def test_non_finite_model_outputs_never_win(rule):
    """Action 2 yields NaN reward, action 3 +inf value: the search masks both."""

    def step(params, z, a, key):
        reward = jnp.where(a == 2, jnp.nan, 0.1 * a.astype(jnp.float32))
        return z + 1, reward, jnp.ones(())

    model = jwm.WorldModel(init=lambda k: (), encode=lambda p, o: o, step=step)
    value_fn = lambda p, z: jnp.where(z > 100, jnp.inf, 0.0)  # finite in reach
    planner = jwm.planners.mcts(model, jwm.spaces.Discrete(4), num_simulations=32, rule=rule,
                                value_fn=value_fn, dirichlet_fraction=0.0, temperature=0.0)
    action, _, info = jax.jit(planner.plan)(planner.init(None), (), jnp.int32(0),
                                            jax.random.key(0))
    assert int(action) != 2 and int(info.num_nonfinite) > 0
    assert bool(jnp.all(jnp.isfinite(info.tree.node_values)))
    assert bool(jnp.isfinite(info.root_value))


def test_reuse_keeps_statistics_and_refuses_a_mismatched_root():
    """Deterministic chain: the chosen child's visits carry over; a foreign latent does not."""
    step = lambda p, z, a, k: (z * 2 + a, -jnp.abs(z - 5).astype(jnp.float32), jnp.ones(()))
    model = jwm.WorldModel(init=lambda k: (), encode=lambda p, o: o, step=step)
    for decay in (1.0, 0.5):
        planner = jwm.planners.mcts(model, jwm.spaces.Discrete(2), num_simulations=16,
                                    rule="uct", reuse_tree=True, latent_example=jnp.int32(0),
                                    temperature=0.0, reuse_decay=decay)
        plan = jax.jit(planner.plan)
        a, state, info = plan(planner.init(None), (), jnp.int32(1), jax.random.key(0))
        child = int(info.tree.children_index[0, a])
        kept = int(info.tree.node_visits[child])
        _, state2, info2 = plan(state, (), jnp.int32(2 + int(a)), jax.random.key(1))
        assert int(info2.tree.node_visits[0]) == int(np.ceil(kept * decay)) + 16
        _, _, info3 = plan(state, (), jnp.int32(77), jax.random.key(1))
        assert int(info3.tree.node_visits[0]) == 17  # fresh root (1) + 16 simulations


def test_mcts_options_a_space_cannot_take():
    box_model = jwm.WorldModel(init=lambda k: (), encode=lambda p, o: o,
                               step=lambda p, z, a, k: (z, -jnp.sum(a ** 2), jnp.ones(())))
    box = jwm.spaces.Box(-1.0, 1.0, (2,))
    with pytest.raises(ValueError, match="reuse_tree"):
        jwm.planners.mcts(box_model, box, num_simulations=4, reuse_tree=True, latent_example=0.0)
    with pytest.raises(ValueError, match="invalid_actions_fn"):
        jwm.planners.mcts(box_model, box, num_simulations=4, invalid_actions_fn=lambda p, z: None)
    with pytest.raises(ValueError, match="gumbel"):
        jwm.planners.mcts(box_model, jwm.spaces.Discrete(2), num_simulations=4, rule="gumbel",
                          reuse_tree=True, latent_example=0.0)
    with pytest.raises(ValueError, match="reuse_decay"):
        jwm.planners.mcts(box_model, jwm.spaces.Discrete(2), num_simulations=4, reuse_tree=True,
                          latent_example=0.0, reuse_decay=0.0)
    with pytest.raises(ValueError, match="latent_example"):
        jwm.planners.mcts(box_model, jwm.spaces.Discrete(2), num_simulations=4, reuse_tree=True)
    planner = jwm.planners.mcts(box_model, box, num_simulations=8, num_sampled_actions=4,
                                proposal_fn=lambda p, z, k: jnp.zeros((3, 2)))
    with pytest.raises(ValueError, match="proposal_fn"):
        planner.plan(planner.init(None), (), 0.0, jax.random.key(0))


@pytest.mark.parametrize("horizon, expected", [("root", 5.0), ("leaf", None)])
def test_rollout_horizon(horizon, expected):
    """One action, reward 1 a step: root-relative rollouts make every simulation worth 5."""
    model = jwm.WorldModel(init=lambda k: (), encode=lambda p, o: o,
                           step=lambda p, z, a, k: (z + 1, jnp.ones(()), jnp.ones(())))
    planner = jwm.planners.mcts(model, jwm.spaces.Discrete(1), num_simulations=3, rule="uct",
                                rollout_depth=5, rollout_horizon=horizon)
    _, _, info = planner.plan(planner.init(None), (), jnp.int32(0), jax.random.key(0))
    if expected is None:  # leaf-relative: a leaf at depth d is worth d + 5
        assert float(info.root_value) == pytest.approx((5 + 6 + 7 + 8) / 4)
    else:
        assert float(info.root_value) == pytest.approx(expected)


def test_sequence_return_num_steps_cuts_and_bootstraps_there():
    model = jwm.WorldModel(init=lambda k: (), encode=lambda p, o: o,
                           step=lambda p, z, a, k: (z + 1, jnp.ones(()), jnp.ones(())))
    ret = jwm.planners.sequence_return(model, (), jnp.int32(0), jnp.zeros((6,), jnp.int32),
                                       jax.random.key(0), value_fn=lambda p, z: 10.0 * z,
                                       num_steps=jnp.int32(2))
    assert float(ret) == 2.0 + 20.0
