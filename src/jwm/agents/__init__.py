"""Agent loops: act-plan-learn, each a pure function that jit-compiles whole."""

from jwm.agents.mpc import Episode, mpc_episode

__all__ = ["Episode", "mpc_episode"]
