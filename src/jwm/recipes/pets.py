"""The PETS recipe: a probabilistic ensemble, CEM-MPC on it, refit every episode."""

from __future__ import annotations

from jwm.recipes.base import Recipe

__all__ = ["PETS", "KNOWN_FUNCTIONS"]

DEFAULTS = {
    "episodes": 10, "random_episodes": 1, "steps_per_episode": None, "known_reward": False,
    "capacity": None,
    "model": {"ensemble_size": 5, "hidden_sizes": [200, 200, 200], "particles": 20,
              "propagation": "ts_inf", "activation": "silu"},
    "planner": {"horizon": 25, "population": 400, "iterations": 5, "elite_frac": 0.1,
                "alpha": 0.1, "min_std": 0.0, "sampling": "clip", "return_mode": "mean",
                "discount": 1.0},
    "fit": {"epochs": 50, "batch_size": 32, "learning_rate": 1e-3, "weight_decay": 5e-5,
            "holdout_ratio": 0.1, "bootstrap": True, "logvar_penalty": 0.01},
}

ENV_DEFAULTS = {
    # A small swish ensemble suffices and keeps a 10-episode run to minutes on a 2-core
    # CPU; many epochs per refit matter more than width while the data set is a few
    # hundred transitions.
    "gymnax:Pendulum-v1": {
        "model": {"ensemble_size": 5, "hidden_sizes": [64, 64, 64], "particles": 10},
        "planner": {"horizon": 25, "population": 200, "iterations": 5},
        "fit": {"epochs": 100},
    },
    # The +100 for reaching the flag is too rare in random data to be learned, so the
    # env's own reward and termination are given to the model (as PETS does for its tasks).
    "gymnax:MountainCarContinuous-v0": {
        "episodes": 5, "known_reward": True,
        "model": {"ensemble_size": 5, "hidden_sizes": [64, 64, 64], "particles": 5},
        "planner": {"horizon": 60, "population": 100, "iterations": 3},
        "fit": {"epochs": 50},
    },
}


def _mountain_car_reward(obs, action, next_obs):
    import jax.numpy as jnp  # here: the command's help does not import jax

    at_goal = (next_obs[0] >= 0.45) & (next_obs[1] >= 0.0)
    return -0.1 * jnp.sum(action ** 2) + 100.0 * at_goal


def _mountain_car_termination(obs, action, next_obs):
    return (next_obs[0] >= 0.45) & (next_obs[1] >= 0.0)


# Known reward and termination functions ``f(obs, action, next_obs)``, transcribed from
# the env's step (gymnax continuous_mountain_car.py).
KNOWN_FUNCTIONS = {
    "gymnax:MountainCarContinuous-v0": (_mountain_car_reward, _mountain_car_termination),
}


def build_parts(env_name: str, config: dict):
    """``(env, model, planner)`` of a PETS config."""
    from jwm import envs, models, planners

    env = envs.make(env_name)
    model_options = dict(config["model"])
    model_options["hidden_sizes"] = tuple(model_options["hidden_sizes"])
    if config["known_reward"]:
        if env_name not in KNOWN_FUNCTIONS:
            raise ValueError(f"pets: known_reward: no known reward function for {env_name!r}; "
                             f"known for {sorted(KNOWN_FUNCTIONS)}")
        model_options["reward_fn"], model_options["termination_fn"] = KNOWN_FUNCTIONS[env_name]
    model = models.ensemble_model(env.observation_space, env.action_space, **model_options)
    planner = planners.cem(model, env.action_space, **config["planner"])
    return env, model, planner


def _build(env_name: str, config: dict):
    from jwm import agents

    env, model, planner = build_parts(env_name, config)
    return agents.pets(env, model, planner, episodes=config["episodes"],
                       random_episodes=config["random_episodes"],
                       steps_per_episode=config["steps_per_episode"],
                       capacity=config["capacity"], fit_options=config["fit"])


PETS = Recipe(name="pets", algorithm="PETS (CEM-MPC on a probabilistic ensemble, TS)",
              defaults=DEFAULTS, env_defaults=ENV_DEFAULTS, build=_build,
              default_env="gymnax:Pendulum-v1")
