"""The AlphaZero recipe: the true rules searched with Gumbel MuZero's root, a
prediction network learned from self-play (`jwm.agents.muzero` with
`jwm.models.alphazero_model`)."""

from __future__ import annotations

from jwm.recipes.base import Recipe
from jwm.recipes.muzero import MUZERO, search_parts

__all__ = ["ALPHAZERO"]

DEFAULTS = {
    "model": {"features": 64, "hidden_sizes": [64], "support": 5, "channels": 32,
              "blocks": 2, "representation": "auto"},
    # MuZero's search and optimizer (jwm.recipes.muzero), with these changes.
    "search": dict(MUZERO.defaults["search"], num_simulations=32, dirichlet_alpha=0.3),
    "optimizer": dict(MUZERO.defaults["optimizer"], learning_rate=1e-3),
    # random_opening 1: the first move of every self-play game is uniformly random.
    # Without it self-play never opened on an edge, and 3-4 of 100 games as the second
    # player against a perfect player were lost to an edge opening
    # (alphazero_tic_tac_toe_no_opening.json).
    # Value targets of a board game are its outcome: n_step covers the longest game
    # (tic-tac-toe's 9 plies; set per game below) and nothing is discounted.
    # total_steps counts the prefill (one sequence of 10 rows per env, 160 plies).
    "loop": dict(MUZERO.defaults["loop"], total_steps=20_160, eval_every=2_000, num_envs=16,
                 discount=1.0, unroll_steps=0, n_step=9, batch_size=128, train_every=80,
                 value_coef=1.0, eval_episodes=64, random_opening=1,
                 # The evaluation's opponent: None is a uniformly random player; N is
                 # UCT with random rollouts at N simulations
                 # (jwm.eval.rollout_mcts_player), whose games stay informative after
                 # random play is beaten every time.
                 eval_opponent_simulations=None),
}

# Connect four: the board through an MLP (the residual CNN's self-play ran at 9 plies/s
# on the 2-core CPU, the MLP's at 370-900), 64 games in parallel with 32 simulations
# each, 8 replayed positions per ply; a prefill of 43 rows per game (2,752 plies,
# collected as 9 phases of 320).
ENV_DEFAULTS = {
    "pgx:connect_four": {
        "model": {"representation": "mlp", "hidden_sizes": [256, 256], "features": 128},
        "optimizer": {"final_learning_rate": 1e-4},
        "loop": {"n_step": 42, "total_steps": 1_846_080, "eval_every": 102_400,
                 "eval_episodes": 32, "num_envs": 64, "train_every": 320,
                 "batch_size": 256}},
}


def _build(env_name: str, config: dict):
    from jwm import agents, envs, models

    env = envs.make(env_name)
    model_options = dict(config["model"], hidden_sizes=tuple(config["model"]["hidden_sizes"]))
    model = models.alphazero_model(env, **model_options)
    loop = dict(config["loop"])
    simulations = loop.pop("eval_opponent_simulations")
    opponent = None
    if simulations is not None:
        from jwm.eval import rollout_mcts_player
        opponent = rollout_mcts_player(env, num_simulations=simulations)
    parts = search_parts(env, model, dict(config, loop=loop))
    return agents.muzero(env, model, opponent=opponent, **parts).with_config(
        eval_opponent=("uniformly random player" if simulations is None else
                       f"UCT with random rollouts, {simulations} simulations"))


ALPHAZERO = Recipe(name="alphazero",
                   algorithm="AlphaZero (true rules, Gumbel search, self-play)",
                   defaults=DEFAULTS, env_defaults=ENV_DEFAULTS, build=_build,
                   default_env="pgx:tic_tac_toe")
