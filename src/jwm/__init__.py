"""jwm: planning with world models in JAX, as records of pure functions."""

from jwm import agents, envs, imagination, models, planners, spaces, sweeps, training
from jwm.models.base import WorldModel
from jwm.planners.base import Planner
from jwm.sweeps import sweep
from jwm.training import train

__version__ = "0.1.0"

__all__ = ["Planner", "WorldModel", "agents", "envs", "imagination", "models", "planners",
           "spaces", "sweep", "sweeps", "train", "training"]
