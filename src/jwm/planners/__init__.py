"""Planners: records of pure functions ``Planner(init, plan)``."""

from jwm.planners.base import PlanInfo, Planner
from jwm.planners.cem import CEMState, cem
from jwm.planners.cem_gd import cem_gd
from jwm.planners.gradient import GradientState, gradient
from jwm.planners.icem import ICEMState, icem
from jwm.planners.mcts import MCTSInfo, mcts
from jwm.planners.mppi import MPPIState, mppi
from jwm.planners.objective import population_returns, sequence_return
from jwm.planners.random_shooting import random_shooting
from jwm.planners.video_plan import (VideoPlanInfo, VideoPlanParams, VideoPlanState,
                                     frame_encoder, video_plan)

__all__ = ["CEMState", "GradientState", "ICEMState", "MCTSInfo", "MPPIState", "PlanInfo",
           "Planner", "VideoPlanInfo", "VideoPlanParams", "VideoPlanState", "cem", "cem_gd",
           "frame_encoder", "gradient", "icem", "mcts", "mppi", "population_returns",
           "random_shooting", "sequence_return", "video_plan"]
