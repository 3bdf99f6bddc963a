"""Training runs driven from the host: `train` (progress, metrics log, orbax
checkpoints, exact resume) and ready log hooks (`tensorboard`)."""

from jwm.training.driver import Training, train
from jwm.training.logs import tensorboard

__all__ = ["Training", "tensorboard", "train"]
