"""Agent loops: act-plan-learn. Every learning loop is an `Agent` (init / step / run,
see `jwm.agents.contract`); `run_episode`/`evaluate` are the one episode loop they act and
evaluate with, on a `Policy` (`jwm.policy`, offered here too)."""

from jwm import _export_lazily

__all__ = ["Agent", "AgentState", "Demonstrations", "DreamerMetrics", "Episode", "MuZeroMetrics", "MuZeroSearch",
           "PETSMetrics",
           "Policy", "SVGMetrics", "TransitionBuffer",
           "demonstrations", "dreamer", "dreamer_optimizer", "episode_transitions", "evaluate", "mpc_episode", "muzero", "muzero_optimizer", "muzero_search", "pets",
           "planner_policy", "random_planner", "run_episode", "stateless_policy", "svg",
           "transition_buffer"]

_export_lazily(__name__, {
    "buffer": ["TransitionBuffer", "episode_transitions", "transition_buffer"],
    "contract": ["Agent", "AgentState"],
    "demonstrations": ["Demonstrations"],
    "dreamer": ["DreamerMetrics", "dreamer", "dreamer_optimizer"],
    "muzero_parts": ["MuZeroSearch", "muzero_optimizer", "muzero_search"],
    "episode": ["Episode", "evaluate", "run_episode"],
    "mpc": ["mpc_episode"],
    "muzero": ["MuZeroMetrics", "muzero"],
    "pets": ["PETSMetrics", "pets", "random_planner"],
    "jwm.policy": ["Policy", "planner_policy", "stateless_policy"],
    "svg": ["SVGMetrics", "svg"],
})
