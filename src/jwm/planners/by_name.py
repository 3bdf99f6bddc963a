"""A planner by its name, with one set of knobs for all of them: what ``jwm plan
--planner NAME`` builds."""

from __future__ import annotations

from jwm.planners.cem import cem
from jwm.planners.gradient import gradient
from jwm.planners.icem import icem
from jwm.planners.mcts import mcts
from jwm.planners.mppi import mppi
from jwm.planners.random_shooting import random_shooting

__all__ = ["PLANNERS", "build_planner"]

def build_planner(name: str, model, action_space, *, horizon: int, population: int,
                  iterations: int, elite_frac: float, temperature: float,
                  simulations: int = 64, rule: str = "uct", rollouts: int = 8,
                  learning_rate: float = 0.1, restarts: int = 8):
    """The planner called ``name`` (one of `PLANNERS`) with the command's knobs (MCTS
    evaluates leaves by the best of ``rollouts`` random rollouts of ``horizon`` steps;
    iCEM draws ``population`` sequences in its first iteration, fewer later; the
    gradient planner takes ``iterations`` Adam steps of ``learning_rate`` on
    ``restarts`` sequences)."""
    builders = {
        "cem": lambda: cem(model, action_space, horizon=horizon, population=population,
                           elite_frac=elite_frac, iterations=iterations),
        "icem": lambda: icem(model, action_space, horizon=horizon, population=population,
                             elite_frac=elite_frac, iterations=iterations),
        "gradient": lambda: gradient(model, action_space, horizon=horizon,
                                     iterations=iterations, learning_rate=learning_rate,
                                     restarts=restarts),
        "mppi": lambda: mppi(model, action_space, horizon=horizon, population=population,
                             iterations=iterations, temperature=temperature),
        "random": lambda: random_shooting(model, action_space, horizon=horizon,
                                          population=population),
        "mcts": lambda: mcts(model, action_space, num_simulations=simulations, rule=rule,
                             rollout_depth=horizon, num_rollouts=rollouts,
                             rollout_aggregate="max"),
    }
    if name not in builders:
        raise ValueError(f"planner must be one of {PLANNERS}, got {name!r}")
    return builders[name]()


PLANNERS = ("cem", "icem", "gradient", "mppi", "random", "mcts")
