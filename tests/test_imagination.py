"""Imagination: rollouts inside a model, lambda-returns, two-hot regression, and the
actor-critic's gradients through the dynamics."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jwm
from jwm.imagination import actor_critic, imagine, lambda_returns
from jwm.models import rssm_model
from jwm.models.twohot import symexp, symlog, twohot_bins, twohot_encode, twohot_mean
from jwm.spaces import Box, Discrete

PENDULUM = jwm.envs.make("gymnax:Pendulum-v1")
CARTPOLE = jwm.envs.make("gymnax:CartPole-v1")


def _small_rssm(env, **kw):
    return rssm_model(env.observation_space, env.action_space, deter=32, hidden=16, stoch=4,
                      classes=3, units=16, blocks=4, **kw)


def test_imagine_matches_a_step_by_step_python_rollout():
    model = _small_rssm(PENDULUM)
    params = model.init(jax.random.key(0))
    ac = actor_critic(model.features, model.feature_dim, PENDULUM.action_space,
                      actor_hidden_sizes=(16, 16), critic_hidden_sizes=(16, 16))
    actor = ac.init(jax.random.key(1)).actor
    policy = lambda latent, k: ac.act(actor, model.features(latent), k)
    obs = jax.random.normal(jax.random.key(2), (3, 3))
    starts = jax.vmap(model.encode, in_axes=(None, 0))(params, obs)
    key, horizon = jax.random.key(3), 4
    traj = imagine(model, params, policy, starts, horizon, key)
    assert traj.actions.shape == (3, horizon, 1) and traj.rewards.shape == (3, horizon)
    assert traj.latents.deter.shape == (3, horizon + 1, 32)
    # The same keys, split the same way, in plain Python.
    policy, step = jax.jit(policy), jax.jit(model.step)
    for b, start_key in enumerate(jax.random.split(key, 3)):
        latent = jax.tree.map(lambda x: x[b], starts)
        for t, step_key in enumerate(jax.random.split(start_key, horizon)):
            k_policy, k_model = jax.random.split(step_key)
            np.testing.assert_allclose(traj.latents.deter[b, t], latent.deter, rtol=1e-5, atol=1e-6)
            action = policy(latent, k_policy)
            latent, reward, discount = step(params, latent, action, k_model)
            np.testing.assert_allclose(traj.actions[b, t], action, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(traj.rewards[b, t], reward, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(traj.discounts[b, t], discount, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(traj.latents.stoch[b, -1], latent.stoch, atol=1e-6)


def test_imagine_reads_the_rssm_heads_after_the_scan_as_its_step_would():
    model = _small_rssm(CARTPOLE)
    params = model.init(jax.random.key(0))
    starts = jax.vmap(model.encode, in_axes=(None, 0))(
        params, jax.random.normal(jax.random.key(1), (3, 4)))
    policy = lambda latent, k: jax.random.randint(k, (), 0, 2)  # noqa: E731
    key = jax.random.key(2)
    # The same model with only `step`: imagine takes its general path.
    plain = jwm.WorldModel(init=model.init, encode=model.encode, step=model.step)
    expected = imagine(plain, params, policy, starts, 6, key, unroll=1)
    for unroll in (1, 4):
        traj = imagine(model, params, policy, starts, 6, key, unroll=unroll)
        for got, want in zip(jax.tree.leaves(traj), jax.tree.leaves(expected)):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    for bad in (0, 2.0, True):
        with pytest.raises(ValueError, match="unroll"):
            imagine(model, params, policy, starts, 6, key, unroll=bad)


def test_imagine_with_the_true_model_reproduces_the_env():
    model = jwm.models.true_model(PENDULUM)
    state, _ = PENDULUM.reset(jax.random.key(0))
    starts = jax.tree.map(lambda x: jnp.asarray(x)[None], model.encode((), state))
    traj = imagine(model, (), lambda latent, k: jnp.array([1.0]), starts, 5, jax.random.key(1))
    rewards = []
    for _ in range(5):
        state, _, reward, _ = PENDULUM.step(jax.random.key(9), state, jnp.array([1.0]))
        rewards.append(reward)
    np.testing.assert_allclose(traj.rewards[0], rewards, rtol=1e-5)


def test_lambda_returns_match_a_hand_computation():
    r = jnp.array([1.0, 2.0, 3.0])
    d = jnp.array([0.9, 0.5, 0.0])
    v = jnp.array([10.0, 4.0, 6.0, 100.0])
    lam = 0.5
    g2 = 3.0 + 0.0 * ((1 - lam) * 100.0 + lam * 100.0)          # terminal: 3
    g1 = 2.0 + 0.5 * ((1 - lam) * 6.0 + lam * g2)              # 2 + 0.5 * 4.5 = 4.25
    g0 = 1.0 + 0.9 * ((1 - lam) * 4.0 + lam * g1)              # 1 + 0.9 * 4.125 = 4.7125
    np.testing.assert_allclose(lambda_returns(r, d, v, lambda_=lam), [g0, g1, g2], rtol=1e-6)
    # lambda = 0: one-step targets; lambda = 1: discounted Monte Carlo plus bootstrap.
    np.testing.assert_allclose(lambda_returns(r, d, v, lambda_=0.0),
                               r + d * v[1:], rtol=1e-6)
    np.testing.assert_allclose(lambda_returns(r, d, v, lambda_=1.0),
                               [1 + 0.9 * (2 + 0.5 * 3), 2 + 0.5 * 3, 3], rtol=1e-6)
    batched = lambda_returns(jnp.stack([r, r]), jnp.stack([d, d]), jnp.stack([v, v]), lambda_=lam)
    np.testing.assert_allclose(batched[1], [g0, g1, g2], rtol=1e-6)


def test_lambda_returns_reject_bad_shapes_and_lambda():
    with pytest.raises(ValueError, match="values"):
        lambda_returns(jnp.ones(3), jnp.ones(3), jnp.ones(3))
    with pytest.raises(ValueError, match="lambda_"):
        lambda_returns(jnp.ones(3), jnp.ones(3), jnp.ones(4), lambda_=1.5)


@settings(max_examples=30, deadline=None)
@given(st.floats(-1e6, 1e6, allow_nan=False))
def test_twohot_encodes_any_scalar_exactly(x):
    bins = twohot_bins()
    weights = twohot_encode(jnp.float32(x), bins)
    assert np.isclose(float(weights.sum()), 1.0, atol=1e-5)
    assert int((weights > 0).sum()) <= 2
    np.testing.assert_allclose(symexp(jnp.sum(weights * bins)), np.float32(x),
                               rtol=2e-4, atol=1e-4)
    np.testing.assert_allclose(symexp(symlog(jnp.float32(x))), np.float32(x), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(twohot_mean(jnp.log(weights + 1e-30), bins), np.float32(x),
                               rtol=2e-4, atol=1e-4)


@pytest.fixture(scope="module")
def pendulum_actor_critic():
    model = _small_rssm(PENDULUM)
    params = model.init(jax.random.key(0))
    # The reward head starts at exactly 0 (zero-initialised output layer, as in
    # DreamerV3); give it weights so that rewards depend on the latent.
    params = jax.tree_util.tree_map_with_path(
        lambda path, x: 0.3 * jax.random.normal(jax.random.key(7), x.shape)
        if "reward_head" in jax.tree_util.keystr(path) and "kernel" in jax.tree_util.keystr(path)
        else x, params)
    ac = actor_critic(model.features, model.feature_dim, PENDULUM.action_space,
                      actor_hidden_sizes=(16, 16), critic_hidden_sizes=(16, 16), horizon=5)
    state = ac.init(jax.random.key(1))
    obs = jax.random.normal(jax.random.key(2), (8, 3))
    starts = jax.vmap(model.encode, in_axes=(None, 0))(params, obs)
    return model, params, ac, state, starts


def test_actor_gradients_flow_through_the_dynamics(pendulum_actor_critic):
    model, params, ac, state, starts = pendulum_actor_critic
    assert ac.config["gradient"] == "dynamics"

    def imagined_return(actor, model_params):
        policy = lambda latent, k: ac.act(actor, model.features(latent), k)
        traj = imagine(model, model_params, policy, starts, 5, jax.random.key(3))
        return traj.rewards.sum(1).mean()

    grads = jax.grad(imagined_return)(state.actor, params)
    flat = jnp.concatenate([g.ravel() for g in jax.tree.leaves(grads)])
    assert bool(jnp.isfinite(flat).all()) and float(jnp.abs(flat).max()) > 0
    # The first action reaches the reward only through the model's transition: with the
    # GRU's weights zeroed the gradient changes, so it did flow through the dynamics.
    frozen = jax.tree_util.tree_map_with_path(
        lambda path, x: jnp.zeros_like(x) if "gru" in jax.tree_util.keystr(path) else x, params)
    grads_frozen = jax.grad(imagined_return)(state.actor, frozen)
    flat_frozen = jnp.concatenate([g.ravel() for g in jax.tree.leaves(grads_frozen)])
    assert float(jnp.abs(flat - flat_frozen).max()) > 1e-6


def test_actor_critic_update_is_finite_and_moves_the_parameters(pendulum_actor_critic):
    model, params, ac, state, starts = pendulum_actor_critic
    update = jax.jit(lambda s, k: ac.update(s, model, params, starts, k))
    new, metrics = update(state, jax.random.key(4))
    assert all(bool(jnp.isfinite(x).all()) for x in jax.tree.leaves(metrics))
    assert float(metrics.actor_grad_norm) > 0
    moved = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), new.actor, state.actor)
    assert max(jax.tree.leaves(moved)) > 0
    # The target critic trails the critic.
    slow_gap = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), new.target_critic, new.critic)
    assert max(jax.tree.leaves(slow_gap)) > 0


def test_actions_stay_in_the_action_space(pendulum_actor_critic):
    model, _, ac, state, _ = pendulum_actor_critic
    feat = jax.random.normal(jax.random.key(5), (256, model.feature_dim)) * 10
    actions = ac.act(state.actor, feat, jax.random.key(6))
    assert actions.shape == (256, 1)
    assert float(actions.min()) >= -2.0 and float(actions.max()) <= 2.0
    discrete = actor_critic(model.features, model.feature_dim, Discrete(3),
                            actor_hidden_sizes=(8, 8), critic_hidden_sizes=(8, 8))
    a = discrete.act(discrete.init(jax.random.key(0)).actor, feat, jax.random.key(1))
    assert a.dtype == jnp.int32 and set(np.unique(a)) <= {0, 1, 2}
    assert discrete.config["gradient"] == "reinforce"
    # A diverged model's NaN latent still gives valid actions (box centre; any index).
    bad = feat.at[:4].set(jnp.nan)
    for deterministic in (False, True):
        actions = ac.act(state.actor, bad, jax.random.key(6), deterministic)
        assert bool(jnp.isfinite(actions).all())
        assert float(actions.min()) >= -2.0 and float(actions.max()) <= 2.0
        np.testing.assert_array_equal(actions[:4], 0.0)
        a = discrete.act(discrete.init(jax.random.key(0)).actor, bad, jax.random.key(1),
                         deterministic)
        assert set(np.unique(a)) <= {0, 1, 2}


def test_actor_critic_rejects_bad_configuration():
    with pytest.raises(ValueError, match="horizon"):
        actor_critic(lambda x: x, 4, Discrete(2), horizon=0)
    with pytest.raises(ValueError, match="gradient"):
        actor_critic(lambda x: x, 4, Discrete(2), gradient="dynamics")
    with pytest.raises(ValueError, match="discount"):
        actor_critic(lambda x: x, 4, Discrete(2), discount=1.5)
    with pytest.raises(TypeError, match="bounded Box"):
        actor_critic(lambda x: x, 4, Box(-np.inf, np.inf, (1,)))
    with pytest.raises(ValueError, match="horizon"):
        imagine(jwm.models.true_model(PENDULUM), (), None, jnp.zeros((1, 3)), 0,
                jax.random.key(0))
