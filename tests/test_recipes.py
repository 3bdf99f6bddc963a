"""The recipes shared by the command and experiments/: settings layered defaults ->
env -> overrides, unknown keys refused, and each builds its agent."""

import jax.numpy as jnp
import pytest

import jwm
from jwm.recipes import DREAMER, KNOWN_FUNCTIONS, PETS, RECIPES, SVG
from jwm.recipes.pets import build_parts


PART_SECTIONS = {"planner", "learner", "search"}


def test_every_recipe_has_the_same_sections_with_its_part_named_after_its_kind():
    sections = {name: sorted(recipe.defaults) for name, recipe in RECIPES.items()}
    for name, keys in sections.items():
        parts = set(keys) & PART_SECTIONS
        assert len(parts) == 1, name
        assert sorted(set(keys) - parts) == ["loop", "model", "optimizer"], name
    assert {n: (set(k) & PART_SECTIONS).pop() for n, k in sections.items()} == {
        "pets": "planner", "svg": "learner", "dreamer": "learner", "muzero": "search",
        "alphazero": "search"}
    # One name per idea: every loop measures its run, warm-up and evaluations in env steps.
    for name, recipe in RECIPES.items():
        assert {"total_steps", "prefill"} <= set(recipe.defaults["loop"]), name
        for env_settings in recipe.env_defaults.values():
            assert set(env_settings) <= set(recipe.defaults), name


# AlphaZero's board games keep their own sizes (a game's length sets its n-step
# targets); every single-agent recipe has one set of settings per action space.
PER_TASK_SIZES = {"alphazero"}


def test_an_env_of_a_single_agent_recipe_sets_only_its_budget():
    from jwm.recipes.base import BUDGET_KEYS, flat_keys

    for name, recipe in RECIPES.items():
        if name in PER_TASK_SIZES:
            continue
        for env, settings in recipe.env_defaults.items():
            assert flat_keys(settings) <= BUDGET_KEYS, (name, env)
        assert set(recipe.action_defaults) <= {"discrete", "continuous"}, name
        assert flat_keys(recipe.image_defaults) <= {f"model.{k}" for k in recipe.defaults["model"]}


def test_a_task_no_one_tuned_for_gets_the_settings_of_its_action_space():
    spaced = DREAMER.config("gymnax:Acrobot-v1")
    assert spaced["learner"]["discount"] == DREAMER.config("gymnax:CartPole-v1")["learner"]["discount"]
    assert DREAMER.config("gymnax:MountainCarContinuous-v0")["optimizer"] == \
        DREAMER.config("gymnax:Pendulum-v1")["optimizer"]
    muzero = RECIPES["muzero"]
    assert muzero.config("gymnax:SpaceInvaders-MinAtar")["model"] == \
        muzero.config("gymnax:Breakout-MinAtar")["model"]


def test_config_layers_defaults_env_settings_and_overrides():
    c = PETS.config("gymnax:Pendulum-v1", {"loop": {"total_steps": 600},
                                           "planner": {"horizon": 7}})
    assert c["env"] == "gymnax:Pendulum-v1"
    assert c["loop"]["total_steps"] == 600 and c["planner"]["horizon"] == 7
    assert c["planner"]["population"] == PETS.defaults["planner"]["population"]
    assert c["loop"]["fit_batch_size"] == PETS.defaults["loop"]["fit_batch_size"]
    # The defaults themselves are never mutated by a call.
    assert PETS.config("gymnax:Pendulum-v1")["planner"]["horizon"] == 25
    assert DREAMER.config("gymnax:CartPole-v1")["learner"]["discount"] == 0.997


def test_unknown_or_misshapen_settings_are_errors():
    with pytest.raises(ValueError, match="unknown config key 'planner.horizn'"):
        PETS.config("gymnax:Pendulum-v1", {"planner": {"horizn": 7}})
    with pytest.raises(ValueError, match="unknown config key 'episode'.*allowed"):
        SVG.config("gymnax:Pendulum-v1", {"episode": 7})
    with pytest.raises(ValueError, match="'loop' is a section"):
        DREAMER.config("gymnax:CartPole-v1", {"loop": 3})
    with pytest.raises(ValueError, match="model.kind"):
        SVG.agent(SVG.config("gymnax:Pendulum-v1", {"model": {"kind": "nope"}}))


@pytest.mark.parametrize("recipe, old, new", [
    (PETS, {"episodes": 3}, "loop.total_steps"), (SVG, {"model_kind": "mlp"}, "model.kind"),
    (DREAMER, {"behavior": {}}, "learner"),
    (RECIPES["muzero"], {"loop": {"num_simulations": 8}}, "search.num_simulations"),
    (RECIPES["muzero"], {"loop": {"learning_rate": 1e-3}}, "optimizer.learning_rate")])
def test_a_setting_of_the_earlier_layout_says_where_it_lives_now(recipe, old, new):
    with pytest.raises(ValueError, match=f"now {new}"):
        recipe.config(recipe.default_env, old)


@pytest.mark.parametrize("name, loop, match", [
    ("pets", {"total_steps": 500}, r"total_steps \(500\) must be a whole number of "
                                   r"episodes.*e\.g\. 400 or 600"),
    ("pets", {"prefill": 2_000}, r"prefill \(2000\) must be < total_steps"),
    ("dreamer", {"total_steps": 2_048}, r"prefill \(1000.*e\.g\. 3000"),
    ("muzero", {"total_steps": 50_000}, r"prefill \(120 env steps\).*e\.g\. 45120 or 50120"),
])
def test_run_lengths_that_do_not_fit_name_the_setting_and_suggest_values(name, loop, match):
    recipe = RECIPES[name]
    with pytest.raises(ValueError, match=match):
        recipe.agent(recipe.config(recipe.default_env, {"loop": loop}))


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_recipe_builds_its_agent_with_the_recipe_recorded(name):
    recipe = RECIPES[name]
    env = recipe.default_env
    agent = recipe.agent(recipe.config(env))
    assert agent.name == name and agent.iterations >= 1
    assert agent.config["recipe"]["env"] == env and agent.config["env"] == env


def test_known_reward_and_termination_for_mountain_car():
    env = jwm.envs.make("gymnax:MountainCarContinuous-v0")
    _, model, _ = build_parts(env.name, PETS.config(env.name, {"model": {"known_reward": True}}))
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
        PETS.agent(PETS.config("gymnax:Pendulum-v1", {"model": {"known_reward": True}}))


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
