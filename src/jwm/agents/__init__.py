"""Agent loops: act-plan-learn. Every learning loop is an `Agent` (init / step / run,
see `jwm.agents.contract`); `Policy` and `run_episode`/`evaluate` are the one episode
loop they act and evaluate with."""

from jwm.agents.buffer import TransitionBuffer, episode_transitions, transition_buffer
from jwm.agents import demonstrations
from jwm.agents.contract import Agent, AgentState
from jwm.agents.demonstrations import Demonstrations
from jwm.agents.dreamer import DreamerMetrics, dreamer
from jwm.agents.episode import Episode, evaluate, run_episode
from jwm.agents.mpc import mpc_episode
from jwm.agents.muzero import MuZeroMetrics, muzero
from jwm.agents.pets import PETSMetrics, pets, random_planner
from jwm.agents.policy import Policy, planner_policy, stateless_policy
from jwm.agents.svg import SVGMetrics, svg

__all__ = ["Agent", "AgentState", "Demonstrations", "DreamerMetrics", "Episode", "MuZeroMetrics", "PETSMetrics",
           "Policy", "SVGMetrics", "TransitionBuffer",
           "demonstrations", "dreamer", "episode_transitions", "evaluate", "mpc_episode", "muzero", "pets",
           "planner_policy", "random_planner", "run_episode", "stateless_policy", "svg",
           "transition_buffer"]
