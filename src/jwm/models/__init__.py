"""World models: the `WorldModel` record and the true (simulator) model."""

from jwm.models.base import WorldModel
from jwm.models.true_model import true_model

__all__ = ["WorldModel", "true_model"]
