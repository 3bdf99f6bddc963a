"""Craftax and navix behind the `Env` record: spaces, time limits kept apart from
terminals, and their rules as true models."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm


def test_craftax_classic_symbolic_runs_and_its_time_limit_is_a_truncation():
    env = jwm.envs.make("craftax:Craftax-Classic-Symbolic-v1", max_timesteps=3)
    assert env.observation_space.shape == (1345,) and env.action_space.n == 17
    assert env.max_episode_steps == 3
    state, obs = env.reset(jax.random.key(0))
    assert obs.shape == (1345,) and obs.dtype == jnp.float32
    transition = jax.jit(env.transition)
    flags = []
    for t in range(3):
        step = transition(jax.random.key(t + 1), state, jnp.int32(0))  # NOOP
        state = step.state
        flags.append((bool(step.terminated), bool(step.truncated)))
    assert flags == [(False, False), (False, False), (False, True)]
    model = jwm.models.true_model(env)
    assert model is not None
    with pytest.raises(ValueError, match="not parameters of craftax"):
        jwm.envs.make("craftax:Craftax-Classic-Symbolic-v1", gravity=1.0)
    with pytest.raises(ValueError, match="unknown craftax environment"):
        jwm.envs.make("craftax:Crafter")


def test_navix_empty_room_reaches_its_goal_by_its_own_rules():
    env = jwm.envs.make("navix:Navix-Empty-5x5-v0")
    assert env.action_space.n == 7 and env.max_episode_steps == 100
    state, obs = env.reset(jax.random.key(0))
    assert obs.shape == env.observation_space.shape and obs.dtype == jnp.float32
    # The agent starts in the top-left corner facing east, the goal bottom-right:
    # forward, forward, turn clockwise, forward, forward.
    forward, clockwise = 2, 1
    transition = jax.jit(env.transition)
    rewards, ends = [], []
    for action in (forward, forward, clockwise, forward, forward):
        step = transition(jax.random.key(0), state, jnp.int32(action))
        state = step.state
        rewards.append(float(step.reward))
        ends.append(bool(step.terminated))
    assert ends == [False] * 4 + [True] and rewards[-1] > 0 and sum(rewards[:-1]) == 0
    with pytest.raises(ValueError, match="unknown navix environment"):
        jwm.envs.make("navix:Navix-Nowhere-v0")


def test_navix_rules_as_a_true_model_predict_the_env():
    env = jwm.envs.make("navix:Navix-DoorKey-5x5-v0")
    model = jwm.models.true_model(env)
    state, _ = env.reset(jax.random.key(3))
    latent = model.encode(model.init(None), state)
    for action in (2, 1, 2, 3):  # forward, turn, forward, pick up
        predicted, reward, discount = model.step((), latent, jnp.int32(action), jax.random.key(5))
        step = env.transition(jax.random.key(5), latent, jnp.int32(action))
        np.testing.assert_array_equal(np.asarray(env.observe(predicted)), np.asarray(step.obs))
        assert float(reward) == float(step.reward)
        assert float(discount) == 1.0 - float(step.terminated)
        latent = predicted
