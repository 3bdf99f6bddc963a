"""The MuZero recipe: representation, dynamics and prediction networks learned from
self-play with Gumbel MuZero's search inside them."""

from __future__ import annotations

from jwm.recipes.base import Recipe

__all__ = ["MUZERO"]

# Sizes that learn CartPole on a 2-core CPU: 16 simulations suffice for Gumbel MuZero,
# whose policy targets improve on the prior with few simulations (Danihelka et al.,
# 2022); a replay ratio of 64 sequences (0.25 updates of 256) per env step.
# total_steps counts the prefill: the default prefill (one sequence of 5 + 5 + 1 rows
# per env, 88 env steps) is collected as 3 phases of 40, then 10 periods of 5,000.
DEFAULTS = {
    "model": {"latent_size": 64, "hidden_sizes": [128], "support": 20, "channels": 32,
              "blocks": 2, "representation": "auto"},
    "search": {"rule": "gumbel", "num_simulations": 16, "max_num_considered_actions": 16,
               "gumbel_scale": 1.0, "dirichlet_alpha": 0.25, "dirichlet_fraction": 0.25,
               "temperature": None},
    "optimizer": {"learning_rate": 3e-3, "final_learning_rate": None, "weight_decay": 1e-4,
                  "grad_clip": 5.0},
    "loop": {"total_steps": 50_120, "prefill": None, "eval_every": 5_000, "num_envs": 8,
             "discount": 0.99, "unroll_steps": 5, "n_step": 5, "batch_size": 256,
             "train_every": 40, "train_steps": 10, "value_coef": 0.25,
             "target_update_every": 100, "reanalyse_fraction": 0.0,
             "priority_exponent": 1.0, "importance_exponent": 1.0, "capacity": None,
             "eval_episodes": 8, "eval_steps": None, "random_opening": 0},
}

# Image observations (MinAtar's 10 x 10 x 4 frame): an MLP encoder (the full-resolution
# CNN made an update of 256 sequences cost seconds on the 2-core CPU) and a wider latent.
IMAGE_DEFAULTS = {"model": {"representation": "mlp", "latent_size": 128, "hidden_sizes": [256]}}

ENV_DEFAULTS: dict = {
    "gymnax:Breakout-MinAtar": {"loop": {"total_steps": 100_120, "eval_every": 10_000}},
}


def search_parts(env, model, config: dict) -> dict:
    """The parts `jwm.agents.muzero` takes, built from a MuZero or AlphaZero config:
    its ``search`` (`muzero_search`, with the loop's discount) and ``optimizer``
    (`muzero_optimizer`, its schedule over the run's updates), and the loop's other
    settings."""
    import functools

    from jwm import agents

    loop = dict(config["loop"])
    search = agents.muzero_search(model, env.action_space, discount=loop.pop("discount"),
                                  **config["search"])
    optimizer = functools.partial(agents.muzero_optimizer, **config["optimizer"])
    return dict(search=search, optimizer=optimizer, **loop)


def _build(env_name: str, config: dict):
    from jwm import agents, envs, models

    env = envs.make(env_name)
    model_options = dict(config["model"], hidden_sizes=tuple(config["model"]["hidden_sizes"]))
    model = models.muzero_model(env.observation_space, env.action_space, **model_options)
    return agents.muzero(env, model, **search_parts(env, model, config))


MUZERO = Recipe(name="muzero",
                algorithm="MuZero (learned model, Gumbel MuZero search, self-play)",
                defaults=DEFAULTS, env_defaults=ENV_DEFAULTS, build=_build,
                image_defaults=IMAGE_DEFAULTS,
                default_env="gymnax:CartPole-v1")
