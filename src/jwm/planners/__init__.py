"""Planners: records of pure functions ``Planner(init, plan)`` (`base`) that choose an
action for one latent of a world model. Shooting planners score action sequences with
the shared objective (`objective`): random shooting, CEM, iCEM (colored noise), MPPI,
gradient shooting and CEM-GD. Tree search (`mcts`): one search assembled from a rule,
`puct`, `gumbel` or `uct`, continuous actions by `sampled_actions`, `mcts(rule=...)`
by name. Video planning (`video_plan`) reads actions off generated frames."""

from jwm import _export_lazily

__all__ = ["CEMState", "GradientState", "ICEMState", "MCTSInfo", "MPPIState", "PlanInfo",
           "Planner", "VideoPlanInfo", "VideoPlanParams", "VideoPlanState", "cem", "cem_gd",
           "frame_encoder", "gradient", "gumbel", "icem", "mcts", "mppi", "population_returns",
           "puct", "random_shooting", "sampled_actions", "sequence_return", "uct", "video_plan"]

_export_lazily(__name__, {
    "base": ["PlanInfo", "Planner"],
    "cem": ["CEMState", "cem"],
    "cem_gd": ["cem_gd"],
    "gradient": ["GradientState", "gradient"],
    "icem": ["ICEMState", "icem"],
    "mcts": ["MCTSInfo", "gumbel", "mcts", "puct", "sampled_actions", "uct"],
    "mppi": ["MPPIState", "mppi"],
    "objective": ["population_returns", "sequence_return"],
    "random_shooting": ["random_shooting"],
    "video_plan": ["VideoPlanInfo", "VideoPlanParams", "VideoPlanState", "frame_encoder",
                   "video_plan"],
})
