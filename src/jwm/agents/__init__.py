"""Agent loops: act-plan-learn, each a pure function that jit-compiles whole."""

from jwm.agents.buffer import TransitionBuffer, episode_transitions, transition_buffer
from jwm.agents.dreamer import Dreamer, DreamerMetrics, DreamerResult, dreamer
from jwm.agents.mpc import Episode, mpc_episode
from jwm.agents.pets import PETS, PETSMetrics, PETSResult, pets, random_planner
from jwm.agents.svg import SVGAgent, SVGMetrics, SVGResult, svg

__all__ = ["Dreamer", "DreamerMetrics", "DreamerResult", "Episode", "PETS", "PETSMetrics",
           "PETSResult", "SVGAgent", "SVGMetrics", "SVGResult", "TransitionBuffer", "dreamer",
           "episode_transitions", "mpc_episode", "pets", "random_planner", "svg",
           "transition_buffer"]
