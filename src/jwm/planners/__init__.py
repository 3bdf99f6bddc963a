"""Planners: records of pure functions ``Planner(init, plan)``."""

from jwm import _export_lazily

__all__ = ["CEMState", "GradientState", "ICEMState", "MCTSInfo", "MPPIState", "PlanInfo",
           "Planner", "VideoPlanInfo", "VideoPlanParams", "VideoPlanState", "cem", "cem_gd",
           "frame_encoder", "gradient", "icem", "mcts", "mppi", "population_returns",
           "random_shooting", "sequence_return", "video_plan"]

_export_lazily(__name__, {
    "base": ["PlanInfo", "Planner"],
    "cem": ["CEMState", "cem"],
    "cem_gd": ["cem_gd"],
    "gradient": ["GradientState", "gradient"],
    "icem": ["ICEMState", "icem"],
    "mcts": ["MCTSInfo", "mcts"],
    "mppi": ["MPPIState", "mppi"],
    "objective": ["population_returns", "sequence_return"],
    "random_shooting": ["random_shooting"],
    "video_plan": ["VideoPlanInfo", "VideoPlanParams", "VideoPlanState", "frame_encoder",
                   "video_plan"],
})
