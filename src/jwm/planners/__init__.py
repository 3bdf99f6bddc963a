"""Planners: records of pure functions ``Planner(init, plan)``."""

from jwm.planners.base import PlanInfo, Planner
from jwm.planners.cem import CEMState, cem
from jwm.planners.mcts import MCTSInfo, mcts
from jwm.planners.mppi import MPPIState, mppi
from jwm.planners.objective import population_returns, sequence_return
from jwm.planners.random_shooting import random_shooting

__all__ = ["CEMState", "MCTSInfo", "MPPIState", "PlanInfo", "Planner", "cem", "mcts", "mppi",
           "population_returns", "random_shooting", "sequence_return"]
