"""The recipes shared by the command and experiments/: settings layered defaults ->
env -> overrides, unknown keys refused, and each builds its agent."""

import jax.numpy as jnp
import pytest

import jwm
from jwm.recipes import DREAMER, KNOWN_FUNCTIONS, PETS, RECIPES, SVG
from jwm.recipes.pets import build_parts


def test_config_layers_defaults_env_settings_and_overrides():
    c = PETS.config("gymnax:Pendulum-v1", {"episodes": 3, "planner": {"horizon": 7}})
    assert c["env"] == "gymnax:Pendulum-v1"
    assert c["episodes"] == 3 and c["planner"]["horizon"] == 7
    assert c["planner"]["population"] == PETS.env_defaults["gymnax:Pendulum-v1"]["planner"]["population"]
    assert c["fit"]["batch_size"] == PETS.defaults["fit"]["batch_size"]
    # The defaults themselves are never mutated by a call.
    assert PETS.config("gymnax:Pendulum-v1")["planner"]["horizon"] == 25
    assert DREAMER.config("gymnax:CartPole-v1")["behavior"]["discount"] == 0.997


def test_unknown_or_misshapen_settings_are_errors():
    with pytest.raises(ValueError, match="unknown config key 'planner.horizn'"):
        PETS.config("gymnax:Pendulum-v1", {"planner": {"horizn": 7}})
    with pytest.raises(ValueError, match="unknown config key 'episode'.*allowed"):
        SVG.config("gymnax:Pendulum-v1", {"episode": 7})
    with pytest.raises(ValueError, match="'loop' is a section"):
        DREAMER.config("gymnax:CartPole-v1", {"loop": 3})
    with pytest.raises(ValueError, match="model_kind"):
        SVG.agent(SVG.config("gymnax:Pendulum-v1", {"model_kind": "nope"}))


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_recipe_builds_its_agent_with_the_recipe_recorded(name):
    recipe = RECIPES[name]
    env = {"dreamer": "gymnax:CartPole-v1", "muzero": "gymnax:CartPole-v1",
           "alphazero": "pgx:tic_tac_toe"}.get(
        name, "gymnax:Pendulum-v1")
    agent = recipe.agent(recipe.config(env))
    assert agent.name == name and agent.iterations >= 1
    assert agent.config["recipe"]["env"] == env and agent.config["env"] == env


def test_known_reward_and_termination_for_mountain_car():
    env = jwm.envs.make("gymnax:MountainCarContinuous-v0")
    _, model, _ = build_parts(env.name, PETS.config(env.name))
    assert not model.learns_reward
    reward_fn, termination_fn = KNOWN_FUNCTIONS[env.name]
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
        PETS.agent(PETS.config("gymnax:Pendulum-v1", {"known_reward": True}))


@pytest.mark.parametrize("name, env, representation", [
    ("muzero", "gymnax:Breakout-MinAtar", "mlp"), ("alphazero", "pgx:connect_four", "mlp"),
    ("alphazero", "pgx:tic_tac_toe", "resnet")])
def test_board_and_frame_recipes_build_with_their_env_settings(name, env, representation):
    agent = RECIPES[name].agent(RECIPES[name].config(env))
    assert agent.config["model"]["representation"] == representation
    assert agent.config["env"] == env and agent.iterations >= 1


def test_alphazero_can_be_evaluated_against_rollout_mcts():
    recipe = RECIPES["alphazero"]
    default = recipe.agent(recipe.config("pgx:tic_tac_toe"))
    assert default.config["eval_opponent"] == "uniformly random player"
    agent = recipe.agent(recipe.config("pgx:tic_tac_toe",
                                       {"loop": {"eval_opponent_simulations": 8}}))
    assert agent.config["eval_opponent"] == "UCT with random rollouts, 8 simulations"
    with pytest.raises(ValueError, match="num_simulations"):
        recipe.agent(recipe.config("pgx:tic_tac_toe", {"loop": {"eval_opponent_simulations": 0}}))
