"""The adapters return what gymnax and brax themselves return, without auto-reset."""

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm
from jwm.spaces import Box, Discrete

# MNISTBandit downloads MNIST when built; every other registered env builds offline.
NEEDS_NETWORK = {"MNISTBandit-bsuite"}


def _tree_equal(a, b):
    return all(jax.tree.leaves(jax.tree.map(lambda x, y: bool(jnp.array_equal(x, y)), a, b)))


def _tree_close(a, b):
    # Two separately compiled programs may fuse float ops differently: allow an ulp or two.
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6), a, b)
    return True


@pytest.mark.parametrize("env_id", [e for e in gymnax.registered_envs if e not in NEEDS_NETWORK])
def test_every_offline_gymnax_env_builds_and_steps(env_id):
    env = jwm.envs.make(f"gymnax:{env_id}")
    state, obs = env.reset(jax.random.key(0))
    action = env.action_space.sample(jax.random.key(1)) if isinstance(env.action_space, Discrete) \
        else jnp.zeros(env.action_space.shape)
    state, obs2, reward, done = env.step(jax.random.key(2), state, action)
    assert obs2.shape == obs.shape == env.observation_space.shape
    assert reward.shape == () and reward.dtype == jnp.float32
    assert done.shape == () and done.dtype == jnp.bool_


@pytest.mark.parametrize("env_id", ["Pendulum-v1", "CartPole-v1", "Breakout-MinAtar"])
def test_gymnax_adapter_matches_gymnax_step_on_same_keys(env_id):
    genv, gparams = gymnax.make(env_id)
    env = jwm.envs.make(f"gymnax:{env_id}")
    key = jax.random.key(42)
    k0, key = jax.random.split(key)
    g_obs, g_state = genv.reset(k0, gparams)
    state, obs = env.reset(k0)
    assert _tree_equal(state, g_state) and jnp.array_equal(obs, g_obs)
    step = jax.jit(env.transition)
    gstep = jax.jit(genv.step)
    compared = 0
    for _ in range(60):
        ka, ks, key = jax.random.split(key, 3)
        action = env.action_space.sample(ka)
        t = step(ks, state, action)
        g_obs, g_state, g_reward, g_term, g_trunc, _ = gstep(ks, g_state, action, gparams)
        assert bool(t.terminated) == bool(g_term) and bool(t.truncated) == bool(g_trunc)
        assert float(t.reward) == float(g_reward)
        if bool(t.done):
            break  # gymnax auto-resets here, jwm does not
        assert _tree_close(t.obs, g_obs) and _tree_close(t.state, g_state)
        state = t.state
        compared += 1
    assert compared > 5


def test_terminated_and_truncated_are_kept_apart_and_there_is_no_auto_reset():
    env = jwm.envs.make("gymnax:Pendulum-v1", max_steps_in_episode=3)
    assert env.max_episode_steps == 3
    state, obs = env.reset(jax.random.key(0))
    for i in range(5):
        t = env.transition(jax.random.key(i), state, jnp.ones(1))
        assert not bool(t.terminated)
        assert bool(t.truncated) == (i >= 2)
        assert int(t.state.time) == i + 1  # keeps counting: no reset
        state = t.state

    cart = jwm.envs.make("gymnax:CartPole-v1")
    state, _ = cart.reset(jax.random.key(0))
    for i in range(200):
        t = cart.transition(jax.random.key(i), state, jnp.int32(1))
        state = t.state
        if bool(t.terminated):
            break
    assert bool(t.terminated) and not bool(t.truncated)
    after = cart.transition(jax.random.key(999), state, jnp.int32(1))
    assert not jnp.array_equal(after.obs, cart.reset(jax.random.key(999))[1])
    assert abs(float(after.obs[2])) > abs(float(t.obs[2]))  # the pole keeps falling


def test_spaces_are_converted():
    pend = jwm.envs.make("gymnax:Pendulum-v1")
    assert pend.action_space == Box(-2.0, 2.0, (1,))
    assert pend.observation_space.shape == (3,)
    assert jwm.envs.make("gymnax:CartPole-v1").action_space == Discrete(2)


@pytest.mark.parametrize("name, kwargs, match", [
    ("Pendulum-v1", {}, "must look like"),
    ("gymnax:NoSuchEnv-v0", {}, "unknown gymnax environment"),
    ("atari:Pong", {}, "unknown suite"),
    ("gymnax:Pendulum-v1", {"not_a_param": 1}, "not parameters"),
    ("brax:no_such_robot", {}, "unknown brax environment"),
])
def test_make_rejects_bad_names(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        jwm.envs.make(name, **kwargs)


def test_brax_adapter_matches_brax_step():
    from brax import envs as brax_envs

    benv = brax_envs.get_environment("inverted_pendulum", backend="spring")
    env = jwm.envs.make("brax:inverted_pendulum", backend="spring", max_episode_steps=4)
    assert env.action_space == Box(-1.0, 1.0, (1,)) and env.observation_space.shape == (4,)
    key = jax.random.key(3)
    state, obs = jax.jit(env.reset)(key)
    b_state = jax.jit(benv.reset)(key)
    np.testing.assert_array_equal(obs, b_state.obs)
    step, bstep = jax.jit(env.transition), jax.jit(benv.step)
    for i in range(4):
        action = jnp.array([0.3 * (-1) ** i])
        t = step(jax.random.key(i), state, action)
        b_state = bstep(b_state, action)
        np.testing.assert_array_equal(t.obs, b_state.obs)
        assert float(t.reward) == float(b_state.reward)
        assert bool(t.terminated) == bool(b_state.done)
        assert bool(t.truncated) == (i == 3)
        state = t.state
