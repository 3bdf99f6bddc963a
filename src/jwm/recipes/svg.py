"""The SVG recipe: a policy trained by value gradients through a world model (a
learned ensemble, a deterministic MLP, or the differentiable simulator itself)."""

from __future__ import annotations

from jwm.recipes.base import Recipe, fit_options

__all__ = ["SVG", "MODEL_KINDS"]

MODEL_KINDS = {"ensemble": "a probabilistic ensemble, one member per imagined trajectory",
               "mlp": "a deterministic MLP", "true": "the differentiable simulator"}

# Reaches -250 on Pendulum-v1 within 2,000 env steps (README). The model is the small
# swish ensemble PETS uses there; SVG imagines 10 steps (0.5 s) ahead from 256 buffer
# states per update and lets the critic carry the rest of the return. 15 episodes of
# Pendulum's 200 steps, the first random.
DEFAULTS = {
    # kind: see MODEL_KINDS; ensemble_size is the ensemble's only, and the true model
    # uses none of the others.
    "model": {"kind": "ensemble", "ensemble_size": 5, "hidden_sizes": [64, 64, 64],
              "sample": True},
    "learner": {"horizon": 10, "discount": 0.99, "lambda_": 0.95,
                "actor_hidden_sizes": [64, 64], "critic_hidden_sizes": [64, 64],
                "activation": "elu", "actor_lr": 3e-4, "critic_lr": 1e-3, "grad_clip": 100.0,
                "entropy_coef": 1e-3, "init_std": 1.0, "min_std": 0.05, "target_tau": 0.02,
                "scale_rate": 0.01},
    "optimizer": {"learning_rate": 1e-3, "weight_decay": 5e-5},
    "loop": {"total_steps": 3_000, "prefill": None, "steps_per_episode": None,
             "updates_per_episode": 200, "batch_size": 256, "eval_episodes": 5,
             "capacity": None, "fit_epochs": 50, "fit_batch_size": 32, "holdout_ratio": 0.1},
}


def _build(env_name: str, config: dict):
    from jwm import agents, envs, imagination, models

    kind = config["model"]["kind"]
    if kind not in MODEL_KINDS:
        raise ValueError(f"svg: model.kind must be one of {sorted(MODEL_KINDS)}, got {kind!r}")
    learner_options = dict(config["learner"])
    for key in ("actor_hidden_sizes", "critic_hidden_sizes"):
        learner_options[key] = tuple(learner_options[key])
    if kind == "true":
        env = envs.make(env_name, transition_gradients=True)
        model = view = models.true_model(env)
        fit = None
        learner_options["observe"] = env.observe
    else:
        env = envs.make(env_name)
        hidden = tuple(config["model"]["hidden_sizes"])
        if kind == "mlp":
            model = models.mlp_model(env.observation_space, env.action_space,
                                     hidden_sizes=hidden)
        else:
            size = config["model"]["ensemble_size"]
            model = models.ensemble_model(env.observation_space, env.action_space,
                                          ensemble_size=size, hidden_sizes=hidden,
                                          particles=size)
        view = models.member_model(model, sample=config["model"]["sample"])
        fit = fit_options(config)
    learner = imagination.value_gradient(view, env.observation_space, env.action_space,
                                         **learner_options)
    loop = config["loop"]
    return agents.svg(env, model, learner, total_steps=loop["total_steps"],
                      prefill=loop["prefill"], steps_per_episode=loop["steps_per_episode"],
                      updates_per_episode=loop["updates_per_episode"],
                      batch_size=loop["batch_size"], eval_episodes=loop["eval_episodes"],
                      capacity=loop["capacity"], fit_options=fit)


SVG = Recipe(name="svg", algorithm="SVG (value gradients through a world model, learned value)",
             defaults=DEFAULTS, env_defaults={}, build=_build,
             default_env="gymnax:Pendulum-v1")
