"""The PETS presets shared by the command and experiments/."""

import jax.numpy as jnp
import pytest

import jwm
from jwm import runs


def test_config_layers_defaults_env_settings_and_overrides():
    c = runs.pets_config("gymnax:Pendulum-v1", episodes=3, planner={"horizon": 7})
    assert c["episodes"] == 3 and c["planner"]["horizon"] == 7
    assert c["planner"]["population"] == runs.PETS_DEFAULTS["gymnax:Pendulum-v1"]["planner"]["population"]
    assert c["fit"]["batch_size"] == runs.PETS_DEFAULTS["default"]["fit"]["batch_size"]
    # The defaults themselves are never mutated by a call.
    assert runs.pets_config("gymnax:Pendulum-v1")["planner"]["horizon"] == 25


def test_known_reward_and_termination_for_mountain_car():
    env = jwm.envs.make("gymnax:MountainCarContinuous-v0")
    model, _, _ = runs.build_pets(env, runs.pets_config(env.name))
    assert not model.learns_reward
    reward_fn, termination_fn = runs.KNOWN_FUNCTIONS[env.name]
    # The transcribed functions agree with the env on a step into the goal and one short of it.
    import jax
    state, _ = env.reset(jax.random.key(0))
    for position, velocity in ((0.449, 0.05), (0.3, 0.01)):
        s = state.replace(position=jnp.float32(position), velocity=jnp.float32(velocity))
        obs = jnp.array([position, velocity])
        t = env.transition(jax.random.key(1), s, jnp.array([1.0]))
        assert jnp.allclose(reward_fn(obs, jnp.array([1.0]), t.obs), t.reward)
        assert bool(termination_fn(obs, jnp.array([1.0]), t.obs)) == bool(t.terminated)
    with pytest.raises(ValueError, match="known_reward"):
        runs.build_pets(jwm.envs.make("gymnax:Pendulum-v1"),
                        runs.pets_config("gymnax:Pendulum-v1", known_reward=True))
