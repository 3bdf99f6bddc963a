"""The PETS recipe: a probabilistic ensemble, CEM-MPC on it, refit every episode."""

from __future__ import annotations

from jwm.recipes.base import Recipe, fit_options

__all__ = ["PETS", "KNOWN_FUNCTIONS"]

# One set for every continuous-action task: a small swish ensemble suffices and keeps
# a 10-episode run to minutes on a 2-core CPU; many epochs per refit matter more than
# width while the data set is a few hundred transitions (tuned on Pendulum-v1).
DEFAULTS = {
    # bootstrap and logvar_penalty are how the ensemble is trained (`jwm.models.fit`);
    # known_reward gives the model the env's own reward and termination.
    "model": {"ensemble_size": 5, "hidden_sizes": [64, 64, 64], "particles": 10,
              "propagation": "ts_inf", "activation": "silu", "known_reward": False,
              "bootstrap": True, "logvar_penalty": 0.01},
    "planner": {"horizon": 25, "population": 200, "iterations": 5, "elite_frac": 0.1,
                "alpha": 0.1, "min_std": 0.0, "sampling": "clip", "return_mode": "mean",
                "discount": 1.0},
    "optimizer": {"learning_rate": 1e-3, "weight_decay": 5e-5},
    # 10 episodes of Pendulum's 200 steps, the first of them random.
    "loop": {"total_steps": 2_000, "prefill": None, "steps_per_episode": None,
             "capacity": None, "fit_epochs": 100, "fit_batch_size": 32, "holdout_ratio": 0.1},
}

# Budgets: 5 episodes of MountainCarContinuous's 999 steps.
ENV_DEFAULTS = {"gymnax:MountainCarContinuous-v0": {"loop": {"total_steps": 4_995}}}


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
    model_options = {k: v for k, v in config["model"].items()
                     if k not in ("known_reward", "bootstrap", "logvar_penalty")}
    model_options["hidden_sizes"] = tuple(model_options["hidden_sizes"])
    if config["model"]["known_reward"]:
        if env_name not in KNOWN_FUNCTIONS:
            raise ValueError(f"pets: model.known_reward: no known reward function for "
                             f"{env_name!r}; known for {sorted(KNOWN_FUNCTIONS)}")
        model_options["reward_fn"], model_options["termination_fn"] = KNOWN_FUNCTIONS[env_name]
    model = models.ensemble_model(env.observation_space, env.action_space, **model_options)
    planner = planners.cem(model, env.action_space, **config["planner"])
    return env, model, planner


def _build(env_name: str, config: dict):
    from jwm import agents

    env, model, planner = build_parts(env_name, config)
    loop = config["loop"]
    return agents.pets(env, model, planner, total_steps=loop["total_steps"],
                       prefill=loop["prefill"], steps_per_episode=loop["steps_per_episode"],
                       capacity=loop["capacity"], fit_options=fit_options(config))


PETS = Recipe(name="pets", algorithm="PETS (CEM-MPC on a probabilistic ensemble, TS)",
              defaults=DEFAULTS, env_defaults=ENV_DEFAULTS, build=_build,
              default_env="gymnax:Pendulum-v1")
