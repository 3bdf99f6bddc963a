"""The model-free baselines: one configuration per action space where rejax ships no
tuned one, budgets kept in whole updates, any jwm env through one adapter."""

import numpy as np
import pytest

from jwm import baselines


def test_an_env_without_a_tuned_configuration_takes_its_action_space_s():
    acrobot = baselines.baseline_config("ppo", "gymnax:Acrobot-v1")
    assert acrobot == baselines.PPO_CONFIGS["gymnax:CartPole-v1"]
    swing = baselines.baseline_config("ppo", "gymnax:MountainCarContinuous-v0")
    assert swing["agent_kwargs"] == baselines.PPO_CONFIGS["gymnax:Pendulum-v1"]["agent_kwargs"]
    with pytest.raises(TypeError, match="SAC takes continuous actions"):
        baselines.baseline_config("sac", "gymnax:CartPole-v1")
    with pytest.raises(ValueError, match=r"\['lr'\] are not PPO settings"):
        baselines.baseline_config("ppo", "gymnax:CartPole-v1", lr=1.0)
    with pytest.raises(ValueError, match="algorithm must be one of"):
        baselines.baseline_config("dqn", "gymnax:CartPole-v1")


def test_evaluations_fall_on_whole_updates_so_the_budget_is_kept():
    # Pendulum's PPO updates on 16 envs x 128 steps = 2,048 env steps.
    config = baselines.baseline_config("ppo", "gymnax:Pendulum-v1", total_timesteps=13_000)
    assert config["eval_freq"] % 2048 == 0 and config["eval_freq"] >= 2048
    evaluations = -(-13_000 // config["eval_freq"])
    assert evaluations * config["eval_freq"] - 13_000 < config["eval_freq"]


def test_ppo_runs_on_a_navix_grid_through_the_jwm_env():
    record = baselines.run_baseline("ppo", "navix:Navix-Empty-5x5-v0", seeds=2,
                                    total_timesteps=1_000, eval_episodes=2)
    steps = np.asarray(record["env_steps"])
    assert steps[0] == 0 and np.all(np.diff(steps) > 0) and steps[-1] >= 1_000
    returns = np.asarray(record["eval_returns"])
    assert returns.shape == (2, steps.size) and np.isfinite(returns).all()
    assert ((0 <= returns) & (returns <= 1)).all()  # navix: 1 for the goal, else 0


def test_sac_learns_nothing_wrong_in_a_few_hundred_steps_of_pendulum():
    record = baselines.run_baseline("sac", "gymnax:Pendulum-v1", seeds=1, total_timesteps=400,
                                    fill_buffer=200, batch_size=32, eval_episodes=2,
                                    agent_kwargs={"activation": "relu",
                                                  "hidden_layer_sizes": [32, 32]})
    returns = np.asarray(record["eval_returns"])
    assert record["agent"] == "sac" and np.isfinite(returns).all()
    assert (returns > -2000).all() and (returns < 0).all()  # Pendulum's range
